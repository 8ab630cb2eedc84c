import Foundation
import NIOHTTP1
import ReverieCore

extension ModelError {
    /// Classifies a non-2xx reply. The body's error message (Anthropic
    /// `{"error":{"type","message"}}` or OpenAI `{"error":{"message","type"}}`) becomes the
    /// message; `retry-after` / `retry-after-ms` become `retryAfter`.
    static func fromHTTP(status: Int, headers: HTTPHeaders, body: Data) -> ModelError {
        let json = try? JSONCoding.decode(JSONValue.self, from: body)
        let errorObject = json?["error"]
        let errorType = errorObject?["type"]?.stringValue ?? errorObject?["code"]?.stringValue
        let message =
            errorObject?["message"]?.stringValue ?? errorObject?.stringValue
            ?? String(decoding: body.prefix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let kind: Kind
        switch status {
        case 429: kind = .rateLimited
        case 529: kind = .overloaded
        case 408: kind = .timeout
        case 401, 403: kind = .authentication
        case 500...599: kind = errorType == "overloaded_error" ? .overloaded : .serverError
        case 400...499: kind = .invalidRequest
        default: kind = .invalidResponse
        }
        return ModelError(
            kind, message.isEmpty ? "HTTP \(status)" : message, statusCode: status,
            retryAfter: RetryAfter.seconds(headers: headers))
    }

    /// Classifies an error reported inside a reply (an Anthropic `error` stream event).
    static func fromErrorType(_ type: String?, message: String?) -> ModelError {
        let kind: Kind
        switch type {
        case "overloaded_error": kind = .overloaded
        case "rate_limit_error": kind = .rateLimited
        case "invalid_request_error", "not_found_error", "request_too_large": kind = .invalidRequest
        case "authentication_error", "permission_error": kind = .authentication
        case "timeout_error": kind = .timeout
        default: kind = .serverError
        }
        return ModelError(kind, message ?? type ?? "the model server reported an error")
    }
}

/// Parses `retry-after` (delta seconds or an HTTP date) and `retry-after-ms`.
enum RetryAfter {
    static func seconds(headers: HTTPHeaders, now: Date = Date()) -> Double? {
        if let text = headers.first(name: "retry-after-ms"), let milliseconds = Double(text.trimmingCharacters(in: .whitespaces)),
            milliseconds >= 0
        {
            return milliseconds / 1000
        }
        guard let text = headers.first(name: "retry-after") else { return nil }
        return seconds(text, now: now)
    }

    static func seconds(_ text: String, now: Date = Date()) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed) { return seconds >= 0 ? seconds : nil }
        guard let date = httpDate(trimmed) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }

    /// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), plus the obsolete RFC 850 and asctime forms.
    static func httpDate(_ text: String) -> Date? {
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}

import HTTPTypes
import Hummingbird
import Logging
import ReverieCore

/// Turns every error thrown by a route (or by routing itself) into the API's error envelope,
/// and stamps `request-id` on every response.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = ReverieRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            var response = try await next(request, context)
            response.headers[.requestID] = context.requestID
            return response
        } catch {
            let apiError = ErrorEnvelope.apiError(from: error)
            if apiError.kind == .api {
                context.logger.error("request failed", metadata: ["request_id": "\(context.requestID)", "path": "\(request.uri.path)", "error": "\(String(reflecting: error))"])
            }
            return ErrorEnvelope.response(for: apiError, requestID: context.requestID)
        }
    }
}

"""Fixtures of the browser suite: a headless Chromium (Debian's `chromium` and
`chromium-driver`) driven by Selenium against a live `reverie serve`, started the way the
conformance suite starts it (its fixtures are reused, not copied)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from typing import Iterator

import pytest

CONFORMANCE = Path(__file__).resolve().parents[1] / "conformance"
sys.path.insert(0, str(CONFORMANCE))  # `support` (make_agent, make_environment, …)

_spec = importlib.util.spec_from_file_location("conformance_fixtures", CONFORMANCE / "conftest.py")
assert _spec is not None and _spec.loader is not None
conformance = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(conformance)

# The conformance suite's fixtures, shared as they are.
server = conformance.server
client = conformance.client
make_server = conformance.make_server
mock_llm = conformance.mock_llm
API_KEY = conformance.API_KEY

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _binary(names: tuple[str, ...], variable: str) -> str:
    configured = os.environ.get(variable)
    if configured:
        return configured
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"{names[0]} not found: apt-get install chromium chromium-driver (or set {variable})", pytrace=False)


def make_browser(width: int = 1280, height: int = 900) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = _binary(("chromium", "chromium-browser"), "CHROMIUM_BIN")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}",
                     "--no-first-run", "--disable-extensions", "--password-store=basic"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=_binary(("chromedriver",), "CHROMEDRIVER_BIN"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    driver = make_browser()
    yield driver
    driver.quit()


def wait(driver, timeout: float = 15):
    return WebDriverWait(driver, timeout)


def sign_in(driver, base_url: str, api_key: str = API_KEY, next_path: str = "/console/sessions") -> None:
    """Signs in through the form, as a person would."""
    driver.get(base_url + next_path)
    wait(driver).until(expected_conditions.presence_of_element_located((By.ID, "api_key")))
    driver.find_element(By.ID, "api_key").send_keys(api_key)
    driver.find_element(By.CSS_SELECTOR, "form[action='/console/sign-in'] button[type=submit]").click()
    wait(driver).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "form.sign-out")))

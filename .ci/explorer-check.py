#!/usr/bin/env python3
"""The API explorer in a real browser (`just explorer-check`).

Usage: explorer-check.py BASE_URL SCREENSHOT_PNG

Headless Chromium, driven through Debian's chromedriver, loads BASE_URL/api-docs/ from
the running server, waits until Swagger UI has fetched and rendered the OpenAPI
document (the operation `createUser` listed), checks that the page's
Content-Security-Policy blocked nothing it needs, and saves a screenshot.
"""

import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    # Headless, as root, and quiet on a machine with no route to Google's services.
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--window-size=1280,1600",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def main():
    base, screenshot = sys.argv[1].rstrip("/"), sys.argv[2]
    driver = browser()
    try:
        driver.get(f"{base}/api-docs/")
        wait = WebDriverWait(driver, 30)
        wait.until(expected_conditions.presence_of_element_located(
            (By.XPATH, "//*[contains(@class, 'opblock-summary-operation-id') and normalize-space()='createUser']")))
        title = driver.find_element(By.CSS_SELECTOR, ".information-container .title").text
        operations = driver.find_elements(By.CSS_SELECTOR, ".opblock-summary-operation-id")
        # Open one operation, as a reader would, for the screenshot.
        driver.find_element(
            By.XPATH, "//*[contains(@class, 'opblock-summary-operation-id') and normalize-space()='createUser']"
        ).click()
        wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".opblock.is-open")))
        driver.save_screenshot(screenshot)
        blocked = [
            entry["message"] for entry in driver.get_log("browser")
            if "Content Security Policy" in entry["message"] or entry["level"] == "SEVERE"
        ]
    finally:
        driver.quit()
    if blocked:
        print("the browser reported:\n" + "\n".join(blocked), file=sys.stderr)
        return 1
    print(f"{title.splitlines()[0]!r}: {len(operations)} operations listed, createUser among them; "
          f"no console error; screenshot {screenshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

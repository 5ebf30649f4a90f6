import { Page } from '@playwright/test';

/**
 * Waits until the WebAssembly has hydrated the page, so clicks run the app's handlers rather
 * than the browser's plain form submission. Pages opened with JavaScript off are never hydrated.
 */
export async function waitForHydration(page: Page, javaScript: boolean) {
  if (!javaScript) return;
  await page.locator('body[data-hydrated]').waitFor({ state: 'attached' });
}

// Unknown connections and unknown addresses answer with a not-found page and HTTP status 404.
import { test, expect } from '../support/fixtures';

test('an unknown connection shows the not-found page with status 404', async ({ page, tocsin, consoleErrors }) => {
  // The browser itself reports the 404 response of the document; that is the expected outcome here.
  consoleErrors.ignore(/status of 404/);
  for (const address of ['/sources/connection/nowhere/incidents', '/sources/connection/nowhere']) {
    const response = await page.goto(`${tocsin.url}${address}`);
    expect(response?.status()).toBe(404);
    await expect(page.getByRole('heading', { level: 1, name: 'Not found' })).toBeVisible();
    await expect(page.getByText('There is no connection named “nowhere”.')).toBeVisible();
    await expect(page.getByRole('heading', { name: 'Webhooks for notifications of an incident state change' })).toHaveCount(0);
  }
  const response = await page.goto(`${tocsin.url}/no/such/page`);
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 1, name: 'Not found' })).toBeVisible();
});

test('the home page leads to Data Sources, and the navigation reaches Incidents', async ({ page, tocsin }) => {
  await page.goto(tocsin.url);
  await expect(page).toHaveURL(/\/sources$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Data Sources' })).toBeVisible();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Incidents' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Incidents' })).toBeVisible();
});

test('a duplicate or invalid connection name is shown next to the field and keeps what was typed', async ({ page, tocsin }) => {
  await page.goto(`${tocsin.url}/sources`);
  await page.locator('body[data-hydrated]').waitFor({ state: 'attached' });
  const name = page.getByLabel('Name', { exact: true });
  await name.fill('dup');
  await page.getByRole('button', { name: 'Add connection' }).click();
  await expect(page.getByRole('link', { name: 'dup', exact: true })).toBeVisible();

  await name.fill('dup');
  await page.getByRole('button', { name: 'Add connection' }).click();
  await expect(page.locator('#name-error')).toHaveText('is already used by another connection');
  await expect(name).toHaveValue('dup');

  await name.fill('bad name!');
  await page.getByRole('button', { name: 'Add connection' }).click();
  await expect(page.locator('#name-error')).toHaveText(`may only contain letters, digits, '_', '-' and '.' (found ' ')`);
  await expect(name).toHaveValue('bad name!');
  await expect(page.getByRole('row')).toHaveCount(2); // the header and "dup"
});

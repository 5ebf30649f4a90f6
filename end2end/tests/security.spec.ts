// The security baseline as a person meets it: pages run under a strict Content-Security-Policy
// and still hydrate; with TOCSIN_AUTH=on, sign-in, API tokens and sign-out, with and without JavaScript.
import { test, expect } from '../support/fixtures';
import { TocsinServer } from '../support/server';
import { waitForHydration } from '../pages/hydration';

test('pages carry a strict Content-Security-Policy and still hydrate and save', async ({ page, tocsin }) => {
  const response = await page.goto(`${tocsin.url}/sources`);
  const headers = response!.headers();
  expect(headers['content-security-policy']).toContain("script-src 'self' 'wasm-unsafe-eval'");
  expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('no-referrer');
  await waitForHydration(page, true);
  // A save through a server function (hydrated: no page load) works under the policy;
  // a blocked script or connection would show in the console, which the fixture checks.
  await page.getByLabel('Name', { exact: true }).fill('csp_check');
  await page.getByRole('button', { name: 'Add connection' }).click();
  await expect(page.getByRole('link', { name: 'csp_check', exact: true })).toBeVisible();
});

for (const javaScript of [true, false]) {
  test.describe(`with sign-in on, JavaScript ${javaScript ? 'on' : 'off'}`, () => {
    test.use({ javaScriptEnabled: javaScript });

    test('a stranger is sent to sign in, comes back to the page asked for, and signs out', async ({ page }) => {
      const tocsin = await TocsinServer.start({ TOCSIN_AUTH: 'on' });
      try {
        tocsin.addUser('alice', 'a long passphrase');
        await page.goto(`${tocsin.url}/incidents`);
        await expect(page).toHaveURL(/\/sign-in\?next=%2Fincidents$/);
        await waitForHydration(page, javaScript);

        await page.getByLabel('User name').fill('alice');
        await page.getByLabel('Password').fill('not the passphrase');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await expect(page.getByRole('alert')).toHaveText('The user name or the password is wrong.');
        await expect(page.getByLabel('User name')).toHaveValue('alice');

        await page.getByLabel('Password').fill('a long passphrase');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await expect(page).toHaveURL(/\/incidents$/);
        await expect(page.getByRole('heading', { level: 1, name: 'Incidents' })).toBeVisible();

        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Access' }).click();
        await expect(page.getByText('Signed in as alice.')).toBeVisible();
        await page.getByRole('button', { name: 'Sign out' }).click();
        await expect(page.getByText('You have signed out.')).toBeVisible();
        await page.goto(`${tocsin.url}/sources`);
        await expect(page).toHaveURL(/\/sign-in\?next=%2Fsources$/);
      } finally {
        await tocsin.dispose();
      }
    });
  });
}

test('an API token is shown once on the Access page, works, and stops working when revoked', async ({ page, request }) => {
  const tocsin = await TocsinServer.start({ TOCSIN_AUTH: 'on' });
  try {
    tocsin.addUser('alice', 'a long passphrase');
    await page.goto(`${tocsin.url}/settings/access`);
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill('a long passphrase');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/settings\/access$/);
    await waitForHydration(page, true);

    await page.getByLabel('New token for').fill('ci');
    await page.getByRole('button', { name: 'Create token' }).click();
    await expect(page.getByText('Token “ci” created. Copy it now: it is not shown again.')).toBeVisible();
    const token = (await page.locator('code.secret').textContent())!.trim();
    expect(token).toMatch(/^tocsin_[A-Za-z0-9_-]{43}$/);
    const row = page.getByRole('row', { name: /ci/ });
    await expect(row).toContainText(`tocsin_…${token.slice(-4)}`);
    await expect(row).toContainText('active');

    const call = () => request.get(`${tocsin.url}/api/connections`, { headers: { Authorization: `Bearer ${token}` } });
    expect((await call()).status()).toBe(200);
    await row.getByRole('button', { name: 'Revoke' }).click();
    await expect(row).toContainText('revoked');
    expect((await call()).status()).toBe(401);
    await page.reload();
    await expect(page.locator('code.secret')).toHaveCount(0);
  } finally {
    await tocsin.dispose();
  }
});

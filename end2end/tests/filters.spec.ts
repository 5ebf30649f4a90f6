// Filtered notifications in the browser: create one, see an incident routed by it, edit and delete it.
import { test, expect } from '../support/fixtures';
import { FakeReceiver } from '../support/receiver';
import { IncidentSettingsPage } from '../pages/incident-settings';
import { FilterFormPage, FilterTable } from '../pages/filters';

test('a filter created in the UI routes a matching incident, and its page says so', async ({ page, request, tocsin }) => {
  const receiver = new FakeReceiver();
  await receiver.start();
  try {
    const api = (path: string) => `${tocsin.url}/api${path}`;
    expect((await request.post(api('/connections/dwh/basic'), { data: { provider_type: 'postgresql' } })).status()).toBe(201);
    const defaults = { incident_notification: { incident_opened_addresses: receiver.url('/defaults') } };
    expect((await request.put(api('/connections/dwh/incidentgrouping'), { data: defaults })).status()).toBe(204);

    const settings = new IncidentSettingsPage(page);
    await settings.open(tocsin.url, 'dwh');
    const filters = new FilterTable(page);
    await expect(filters.rows).toHaveCount(1);
    await expect(filters.row('default')).toContainText('open: http://127.0.0.1/…ults');

    await filters.addButton.click();
    await expect(page).toHaveURL(/\/sources\/connection\/dwh\/incidents\/filters\/new$/);
    const form = new FilterFormPage(page);
    await form.waitUntilReady();
    await form.fill({ name: 'finance', priority: '10', schema: 'finance', table: 'fact_*',
      opened: receiver.url('/finance'), message: 'SLA: 4 hours' });
    await form.saveButton.click();

    await expect(page).toHaveURL(/\/sources\/connection\/dwh\/incidents\?saved=1$/);
    await expect(filters.rows).toHaveCount(2);
    const row = filters.row('finance');
    await expect(row).toContainText('schema = finance · table = fact_*');
    await expect(row).toContainText('open: http://127.0.0.1/…ance');
    expect((await (await request.get(api('/connections/dwh/filterednotifications/finance'))).json()).filter)
      .toEqual({ schema: 'finance', table: 'fact_*' });

    // A failed check on a finance fact table opens an incident that goes to the filter's address only.
    const executedAt = new Date(Date.now() - 3_600_000).toISOString();
    const ingest = await request.post(api('/connections/dwh/checkresults'), {
      data: [{ schema: 'finance', table: 'fact_ledger', check_name: 'daily_nulls_percent', check_category: 'nulls',
               check_type: 'monitoring', quality_dimension: 'Completeness', severity: 2, executed_at: executedAt }],
    });
    expect(ingest.status()).toBe(200);
    await expect.poll(() => receiver.at('/finance').length).toBe(1);
    expect(receiver.at('/finance')[0].body.message).toBe('SLA: 4 hours');
    expect(receiver.at('/defaults')).toHaveLength(0);

    const [incident] = await (await request.get(api('/incidents/dwh'))).json();
    await page.goto(`${tocsin.url}/incidents/dwh/${incident.year}/${incident.month}/${incident.incidentId}`);
    await expect(page.getByRole('list', { name: 'Notification routing' }))
      .toHaveText('Routed by filter “finance”: http://127.0.0.1/…ance');
    await expect(page.locator('table.notifications tbody tr').first()).toContainText('filter “finance”');

    // Editing it: disabled, it is greyed in the table and routes nothing.
    await settings.open(tocsin.url, 'dwh');
    await filters.row('finance').getByRole('link', { name: 'finance' }).click();
    await form.waitUntilReady();
    await expect(form.field('Schema')).toHaveValue('finance');
    await expect(form.field('Message')).toHaveValue('SLA: 4 hours');
    await form.fill({ disabled: true });
    await form.saveButton.click();
    await expect(page).toHaveURL(/\/sources\/connection\/dwh\/incidents\?saved=1$/);
    await expect(filters.row('finance')).toHaveClass(/disabled/);
    await expect(filters.row('finance')).toContainText('disabled');

    // Deleting asks first.
    await filters.row('finance').getByRole('button', { name: 'Delete' }).click();
    await expect(filters.row('finance').getByRole('alert')).toHaveText('Delete “finance”?');
    await filters.row('finance').getByRole('button', { name: 'Cancel' }).click();
    await expect(filters.rows).toHaveCount(2);
    await filters.row('finance').getByRole('button', { name: 'Delete' }).click();
    await filters.row('finance').getByRole('button', { name: 'Yes, delete' }).click();
    await expect(filters.rows).toHaveCount(1);
    expect(await (await request.get(api('/connections/dwh/filterednotifications'))).json()).toEqual([]);
  } finally {
    await receiver.stop();
  }
});

test('a wrong filter field is named, keeps what was typed, and saves nothing', async ({ page, request, tocsin }) => {
  expect((await request.post(`${tocsin.url}/api/connections/dwh/basic`, { data: { provider_type: 'mysql' } })).status()).toBe(201);
  await page.goto(`${tocsin.url}/sources/connection/dwh/incidents/filters/new`);
  const form = new FilterFormPage(page);
  await form.waitUntilReady();
  await form.fill({ name: 'a/b', priority: 'first', schema: 'finance' });
  await form.saveButton.click();
  await expect(page.getByRole('status').filter({ hasText: 'Nothing was saved' })).toBeVisible();
  await expect(page.locator('#name-error')).toHaveText("must not contain '/'");
  await expect(page.locator('#priority-error')).toHaveText('must be a whole number (lower is tried first)');
  await expect(form.field('Schema')).toHaveValue('finance');
  expect(await (await request.get(`${tocsin.url}/api/connections/dwh/filterednotifications`)).json()).toEqual([]);
});

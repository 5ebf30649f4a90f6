// Notifications in the browser: test messages and the record of what was sent.
import { test, expect } from '../support/fixtures';
import { FakeReceiver } from '../support/receiver';
import { DataSourcesPage } from '../pages/data-sources';
import { IncidentSettingsPage } from '../pages/incident-settings';

let receiver: FakeReceiver;

test.beforeEach(async () => {
  receiver = new FakeReceiver();
  await receiver.start();
});

test.afterEach(async () => {
  await receiver.stop();
});

test('Send test message shows what the receiver answered', async ({ page, tocsin }) => {
  const sources = new DataSourcesPage(page, tocsin.url);
  await sources.open();
  await sources.addConnection({ name: 'alerts', provider: 'BigQuery' });
  await expect(sources.connectionLink('alerts')).toBeVisible();

  const settings = new IncidentSettingsPage(page);
  await settings.open(tocsin.url, 'alerts');
  await settings.webhook('opened').fill(receiver.url('/ok'));
  await settings.testButton('opened').click();
  // The address is masked: scheme, host and its last four characters.
  await expect(settings.testResult('opened')).toHaveText(/^http:\/\/127\.0\.0\.1\/…\d\/ok: delivered \(the receiver answered 200 ok\)$/);
  expect(receiver.at('/ok')).toHaveLength(1);
  expect(receiver.at('/ok')[0].body.status).toBe('open');

  receiver.script('/broken', { status: 500, body: 'boom' });
  await settings.webhook('acknowledged').fill(receiver.url('/broken'));
  await settings.testButton('acknowledged').click();
  await expect(settings.testResult('acknowledged')).toContainText('not delivered (the receiver answered 500 boom)');

  await settings.webhook('resolved').fill('ftp://files.example.com/x');
  await settings.testButton('resolved').click();
  await expect(settings.testResult('resolved')).toHaveText('No test message sent: must be an absolute URL starting with http:// or https://');
});

test('Recent notifications shows what each status change sent', async ({ page, request, tocsin }) => {
  const sources = new DataSourcesPage(page, tocsin.url);
  await sources.open();
  await sources.addConnection({ name: 'orders_db', provider: 'MySQL' });
  await expect(sources.connectionLink('orders_db')).toBeVisible();

  const secret = `/services/T1/B1/token${Date.now()}`;
  const settings = new IncidentSettingsPage(page);
  await settings.open(tocsin.url, 'orders_db');
  await settings.webhook('opened').fill(receiver.url(secret));
  await settings.webhook('acknowledged').fill(receiver.url(secret));
  await settings.save();
  await expect(settings.savedNotice).toBeVisible();

  const executedAt = new Date(Date.now() - 3_600_000).toISOString();
  const ingest = await request.post(`${tocsin.url}/api/connections/orders_db/checkresults`, {
    data: [{ schema: 'public', table: 'orders', check_name: 'daily_row_count', check_category: 'volume',
             check_type: 'monitoring', quality_dimension: 'Completeness', severity: 2, executed_at: executedAt }],
  });
  expect(ingest.status()).toBe(200);
  await expect.poll(() => receiver.at(secret).length).toBe(1);

  const [incident] = await (await request.get(`${tocsin.url}/api/incidents/orders_db`)).json();
  const status = await request.post(
    `${tocsin.url}/api/incidents/orders_db/${incident.year}/${incident.month}/${incident.incidentId}/status?status=acknowledged`,
  );
  expect(status.status()).toBe(204);
  await expect.poll(() => receiver.at(secret).length).toBe(2);
  expect(receiver.at(secret).map((r) => r.body.status)).toEqual(['open', 'acknowledged']);

  await page.reload();
  await settings.waitUntilReady();
  const rows = settings.notificationRows;
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toContainText('ACKNOWLEDGED');
  await expect(rows.first()).toContainText('delivered');
  await expect(rows.first()).toContainText('HTTP 200');
  await expect(rows.nth(1)).toContainText('OPEN');
  const masked = `http://127.0.0.1/…${secret.slice(-4)}`;
  await expect(rows.first()).toContainText(masked);
  expect((await page.locator('table.notifications').innerText()).includes(secret)).toBe(false);
});

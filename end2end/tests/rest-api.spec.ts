// The REST API and the UI share one set of settings: what one saves, the other shows.
import { test, expect } from '../support/fixtures';
import { FakeReceiver } from '../support/receiver';
import { DataSourcesPage } from '../pages/data-sources';
import { DefaultNotificationsPage } from '../pages/default-notifications';
import { IncidentSettings, IncidentSettingsPage } from '../pages/incident-settings';

test('a PUT through the REST API shows on the settings page, and a save on the page shows in the API', async ({ page, request, tocsin }) => {
  const api = (path: string) => `${tocsin.url}/api${path}`;
  let response = await request.post(api('/connections/warehouse/basic'), { data: { provider_type: 'bigquery' } });
  expect(response.status()).toBe(201);
  response = await request.put(api('/connections/warehouse/incidentgrouping'), {
    data: {
      grouping_level: 'table_dimension',
      minimum_severity: 'fatal',
      divide_by_data_groups: true,
      max_incident_length_days: 21,
      mute_for_days: 3,
      incident_notification: {
        incident_opened_addresses: 'https://hooks.slack.com/services/T1/B1/opened,https://alerts.example.com/opened',
        incident_resolved_addresses: '',
        incident_muted_addresses: 'https://alerts.example.com/muted',
      },
    },
  });
  expect(response.status()).toBe(204);

  const settings = new IncidentSettingsPage(page);
  await settings.open(tocsin.url, 'warehouse');
  const fromApi: IncidentSettings = {
    groupingLevel: 'Table / Quality dimension',
    minimumSeverity: 'Fatal',
    separateDataGroups: true,
    maxIncidentDays: '21',
    muteForDays: '3',
    incidentCreation: true,
    opened: 'https://hooks.slack.com/services/T1/B1/opened, https://alerts.example.com/opened',
    acknowledged: '',
    resolved: '',
    muted: 'https://alerts.example.com/muted',
  };
  await settings.expectValues(fromApi);
  // The API's empty string (nobody, not even the global default) shows as the ticked checkbox.
  const nobodyResolved = page.getByLabel('When empty, notify nobody (not even the global default)').nth(2);
  await expect(nobodyResolved).toBeChecked();
  await expect(page.getByLabel('When empty, notify nobody (not even the global default)').nth(1)).not.toBeChecked();
  await expect(settings.webhook('resolved')).toHaveAttribute('placeholder', 'Nobody: the global default is not used');

  await settings.fill({
    ...fromApi,
    groupingLevel: 'Table',
    minimumSeverity: 'Error',
    separateDataGroups: false,
    muteForDays: '9',
    incidentCreation: false,
    acknowledged: 'https://alerts.example.com/ack',
    muted: '',
  });
  await settings.save();
  await expect(settings.savedNotice).toBeVisible();

  response = await request.get(api('/connections/warehouse/incidentgrouping'));
  expect(response.status()).toBe(200);
  expect(await response.json()).toEqual({
    grouping_level: 'table',
    minimum_severity: 'error',
    max_incident_length_days: 21,
    mute_for_days: 9,
    disabled: true,
    incident_notification: {
      incident_opened_addresses: 'https://hooks.slack.com/services/T1/B1/opened, https://alerts.example.com/opened',
      incident_acknowledged_addresses: 'https://alerts.example.com/ack',
      incident_resolved_addresses: '',
    },
  });
});

test('global notification addresses are saved, tested, inherited by connections and used for new incidents', async ({ page, request, tocsin }) => {
  const receiver = new FakeReceiver();
  await receiver.start();
  try {
    const sources = new DataSourcesPage(page, tocsin.url);
    await sources.open();
    await sources.addConnection({ name: 'orders_db', provider: 'MySQL' });
    await expect(sources.connectionLink('orders_db')).toBeVisible();

    await page.getByRole('link', { name: 'Global notifications' }).click();
    await expect(page).toHaveURL(/\/definitions\/default-notifications$/);
    const defaults = new DefaultNotificationsPage(page);
    await defaults.waitUntilReady();

    // A bad address is named, keeps what was typed, and nothing is saved.
    await defaults.webhook('resolved').fill('https://ok.example/x, not a url');
    await defaults.webhook('resolved').press('Tab');
    await expect(defaults.fieldError('resolved')).toHaveText('address 2 of 2 must not contain spaces or other whitespace');
    await defaults.saveButton.click();
    await expect(defaults.failureNotice).toBeVisible();
    await expect(defaults.fieldError('resolved')).toHaveText('address 2 of 2 must not contain spaces or other whitespace');
    await expect(defaults.webhook('resolved')).toHaveValue('https://ok.example/x, not a url');
    expect(await (await request.get(`${tocsin.url}/api/defaults/defaultwebhooks`)).json()).toEqual({});

    // Fixing the field clears its message while typing, so the next click lands on Save.
    const opened = receiver.url('/global/opened');
    await defaults.webhook('resolved').fill('');
    await expect(defaults.fieldError('resolved')).toHaveCount(0);
    await defaults.webhook('opened').fill(opened);
    await defaults.testButton('opened').click();
    await expect(defaults.testResult('opened')).toContainText('delivered (the receiver answered 200 ok)');
    expect(receiver.at('/global/opened')).toHaveLength(1);
    expect(receiver.at('/global/opened')[0].body.connection).toBe('sample_connection');

    await defaults.saveButton.click();
    await expect(defaults.savedNotice).toBeVisible();
    await page.reload();
    await defaults.waitUntilReady();
    await expect(defaults.webhook('opened')).toHaveValue(opened);
    expect(await (await request.get(`${tocsin.url}/api/defaults/defaultwebhooks`)).json()).toEqual({
      incident_opened_addresses: opened,
    });

    // The connection's empty field shows the address it inherits.
    const settings = new IncidentSettingsPage(page);
    await settings.open(tocsin.url, 'orders_db');
    await expect(settings.webhook('opened')).toHaveValue('');
    await expect(settings.webhook('opened')).toHaveAttribute('placeholder', `Global default: ${opened}`);
    await expect(settings.webhook('muted')).toHaveAttribute('placeholder', 'https://hooks.slack.com/services/…');

    // A new incident on the connection is sent to the global address.
    const executedAt = new Date(Date.now() - 3600_000).toISOString();
    const ingest = await request.post(`${tocsin.url}/api/connections/orders_db/checkresults`, {
      data: [{ schema: 'sales', table: 'orders', check_name: 'row_count', check_category: 'volume',
        check_type: 'monitoring', quality_dimension: 'Completeness', severity: 2, executed_at: executedAt }],
    });
    expect(ingest.status()).toBe(200);
    await expect.poll(() => receiver.at('/global/opened').length).toBe(2);
    const sent = receiver.at('/global/opened')[1].body;
    expect([sent.connection, sent.table, sent.status]).toEqual(['orders_db', 'orders', 'open']);
  } finally {
    await receiver.stop();
  }
});

// The Incidents and Notifications page: saving, validation, persistence, and working without JavaScript.
import { test, expect } from '../support/fixtures';
import { DataSourcesPage } from '../pages/data-sources';
import { IncidentSettings, IncidentSettingsPage } from '../pages/incident-settings';
import path from 'node:path';

const DQOPS_DEFAULTS: IncidentSettings = {
  groupingLevel: 'Table / Quality dimension / Check category',
  minimumSeverity: 'Warning',
  separateDataGroups: false,
  maxIncidentDays: '60',
  muteForDays: '60',
  incidentCreation: true,
  opened: '',
  acknowledged: '',
  resolved: '',
  muted: '',
};

const CHANGED: IncidentSettings = {
  groupingLevel: 'Table / Quality dimension / Check category / Check name',
  minimumSeverity: 'Error',
  separateDataGroups: true,
  maxIncidentDays: '14',
  muteForDays: '7',
  incidentCreation: false,
  opened: 'https://hooks.slack.com/services/T0001/B0001/abcdefghij, https://alerts.example.com/tocsin/opened',
  acknowledged: 'https://alerts.example.com/tocsin/acknowledged',
  resolved: 'https://hooks.slack.com/services/T0001/B0002/klmnopqrst',
  muted: 'http://receiver.internal:8080/muted',
};

test('settings saved on the Incidents and Notifications page survive a reload and a restart', async ({ page, tocsin }) => {
  const sources = new DataSourcesPage(page, tocsin.url);
  await sources.open();
  await sources.addConnection({ name: 'sales_dwh', provider: 'PostgreSQL', description: 'Sales warehouse' });
  await expect(sources.connectionRow('sales_dwh')).toContainText('PostgreSQL');
  await expect(sources.connectionRow('sales_dwh')).toContainText('Sales warehouse');

  await sources.connectionLink('sales_dwh').click();
  await expect(page).toHaveURL(/\/sources\/connection\/sales_dwh$/);
  await expect(page.getByRole('heading', { level: 1, name: 'sales_dwh' })).toBeVisible();
  await page.getByRole('link', { name: 'Incidents and Notifications' }).click();
  await expect(page).toHaveURL(/\/sources\/connection\/sales_dwh\/incidents$/);

  const settings = new IncidentSettingsPage(page);
  await settings.waitUntilReady();
  await settings.expectValues(DQOPS_DEFAULTS);

  await settings.fill(CHANGED);
  await settings.save();
  await expect(settings.savedNotice).toBeVisible();
  await settings.expectValues(CHANGED);

  await page.reload();
  await settings.waitUntilReady();
  await settings.expectValues(CHANGED);

  await tocsin.restart();
  await settings.open(tocsin.url, 'sales_dwh');
  await settings.expectValues(CHANGED);

  await page.setViewportSize({ width: 1100, height: 1150 });
  await page.screenshot({ path: path.join(__dirname, '..', '..', 'docs', 'incidents-and-notifications.png'), fullPage: true });
});

test('an invalid webhook URL is named next to its field, keeps what was typed, and saves nothing', async ({ page, tocsin }) => {
  const sources = new DataSourcesPage(page, tocsin.url);
  await sources.open();
  await sources.addConnection({ name: 'finance', provider: 'Snowflake' });
  await expect(sources.connectionLink('finance')).toBeVisible();

  const settings = new IncidentSettingsPage(page);
  await settings.open(tocsin.url, 'finance');
  const saved: IncidentSettings = { ...DQOPS_DEFAULTS, minimumSeverity: 'Fatal', opened: 'https://alerts.example.com/first' };
  await settings.fill(saved);
  await settings.save();
  await expect(settings.savedNotice).toBeVisible();

  const typed: IncidentSettings = {
    ...saved,
    minimumSeverity: 'Error',
    opened: 'https://alerts.example.com/second',
    acknowledged: 'https://alerts.example.com/ok, not a url',
  };
  await settings.fill(typed);
  await settings.save();

  await expect(settings.failureNotice).toBeVisible();
  await expect(settings.webhookError('acknowledged')).toHaveText('address 2 of 2 must not contain spaces or other whitespace');
  await expect(settings.webhook('acknowledged')).toHaveAttribute('aria-invalid', 'true');
  await expect(settings.webhookError('opened')).toHaveCount(0);
  await expect(settings.savedNotice).toHaveCount(0);
  await settings.expectValues(typed);

  await page.reload();
  await settings.waitUntilReady();
  await settings.expectValues(saved);
});

test('the browser checks a webhook URL as soon as the field is left', async ({ page, tocsin }) => {
  const sources = new DataSourcesPage(page, tocsin.url);
  await sources.open();
  await sources.addConnection({ name: 'quick', provider: 'DuckDB' });
  await expect(sources.connectionLink('quick')).toBeVisible();

  const settings = new IncidentSettingsPage(page);
  await settings.open(tocsin.url, 'quick');
  await settings.webhook('muted').fill('ftp://files.example.com/drop');
  await settings.webhook('muted').blur();
  await expect(settings.webhookError('muted')).toHaveText('must be an absolute URL starting with http:// or https://');
  await settings.webhook('muted').fill('https://files.example.com/drop');
  await settings.webhook('muted').blur();
  await expect(settings.webhookError('muted')).toHaveCount(0);
});

test.describe('with JavaScript disabled', () => {
  test.use({ javaScriptEnabled: false });

  test('the settings form still saves, through a plain POST and a redirect back', async ({ page, tocsin }) => {
    const sources = new DataSourcesPage(page, tocsin.url, false);
    await sources.open();
    await sources.addConnection({ name: 'no_js', provider: 'Trino', description: 'Saved without scripts' });
    await expect(sources.connectionRow('no_js')).toContainText('Saved without scripts');

    const settings = new IncidentSettingsPage(page, false);
    await settings.open(tocsin.url, 'no_js');
    await settings.expectValues(DQOPS_DEFAULTS);
    await settings.fill(CHANGED);
    await settings.save();
    await expect(page).toHaveURL(/\/sources\/connection\/no_js\/incidents\?saved=1$/);
    await expect(settings.savedNotice).toBeVisible();
    await settings.expectValues(CHANGED);

    await settings.open(tocsin.url, 'no_js');
    await settings.expectValues(CHANGED);
  });

  test('a rejected save names the wrong field and keeps the saved values', async ({ page, tocsin }) => {
    const sources = new DataSourcesPage(page, tocsin.url, false);
    await sources.open();
    await sources.addConnection({ name: 'no_js_bad', provider: 'Other' });

    const settings = new IncidentSettingsPage(page, false);
    await settings.open(tocsin.url, 'no_js_bad');
    await settings.fill({ ...DQOPS_DEFAULTS, muteForDays: '0', resolved: 'https://user:pw@example.com/x' });
    await settings.save();
    await expect(settings.failureNotice).toBeVisible();
    await expect(settings.webhookError('resolved')).toHaveText('must not contain a user name or password');
    await expect(page.locator('#mute_for_days-error')).toHaveText('must be between 1 and 3650 days');
    await expect(page).not.toHaveURL(/pw@example/);

    await settings.open(tocsin.url, 'no_js_bad');
    await settings.expectValues(DQOPS_DEFAULTS);
  });
});

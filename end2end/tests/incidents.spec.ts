// Incidents: check results sent through the REST API become incidents that people triage in the UI.
import { test, expect } from '../support/fixtures';
import { DataSourcesPage } from '../pages/data-sources';
import { IncidentListPage, IncidentPage } from '../pages/incidents';
import { APIRequestContext } from '@playwright/test';

function hoursAgo(hours: number): string {
  return new Date(Date.now() - hours * 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
}

function checkResult(table: string, check: string, severity: number, executedAt: string, dimension = 'Completeness') {
  return {
    schema: 'public', table, column: 'amount', check_name: check, check_category: 'nulls',
    check_type: 'monitoring', quality_dimension: dimension, severity, executed_at: executedAt,
    actual_value: 12.5, expected_value: 0, message: `${check} failed`,
  };
}

async function ingest(request: APIRequestContext, origin: string, connection: string, results: object[]) {
  const response = await request.post(`${origin}/api/connections/${connection}/checkresults`, { data: results });
  expect(response.status()).toBe(200);
  return response.json();
}

test('ingested check results become incidents that are triaged in the list and the detail page', async ({ page, request, tocsin }) => {
  const sources = new DataSourcesPage(page, tocsin.url);
  await sources.open();
  await sources.addConnection({ name: 'sales_dwh', provider: 'PostgreSQL' });
  await expect(sources.connectionLink('sales_dwh')).toBeVisible();

  const outcome = await ingest(request, tocsin.url, 'sales_dwh', [
    checkResult('fact_sales', 'daily_nulls_percent', 2, hoursAgo(3)),
    checkResult('fact_sales', 'daily_nulls_count', 3, hoursAgo(2)),
    checkResult('dim_customer', 'daily_nulls_percent', 1, hoursAgo(1), 'Validity'),
  ]);
  expect(outcome).toEqual({ accepted: 3, duplicates: 0, incidents_opened: 2, incidents_updated: 0 });

  const list = new IncidentListPage(page);
  await list.open(tocsin.url, 'sales_dwh');
  await expect(list.heading).toHaveText('Data quality incidents on sales_dwh');
  await expect(list.rows).toHaveCount(2);
  await expect(list.row('fact_sales')).toContainText('Fatal');
  await expect(list.row('fact_sales')).toContainText('Completeness, nulls');
  await expect(list.totalIssues('fact_sales')).toHaveText('2');
  await expect(list.row('dim_customer')).toContainText('Warning');

  // Change the status in place, then see it on the incident's page with its history row.
  await list.setStatus('fact_sales', 'ACKNOWLEDGED');
  await expect(list.status('fact_sales').locator('option:checked')).toHaveText('ACKNOWLEDGED');
  await list.open(tocsin.url, 'sales_dwh');
  await expect(list.status('fact_sales').locator('option:checked')).toHaveText('ACKNOWLEDGED');

  await list.grouping('fact_sales').click();
  const detail = new IncidentPage(page);
  await detail.waitUntilReady();
  await expect(detail.heading).toContainText('Data quality incident');
  await expect(detail.status.locator('option:checked')).toHaveText('ACKNOWLEDGED');
  await expect(detail.historyRows).toHaveCount(2);
  await expect(detail.historyRows.first()).toContainText('OPEN');
  await expect(detail.historyRows.first()).toContainText('ACKNOWLEDGED');
  await expect(detail.historyRows.first()).toContainText('web UI');
  await expect(detail.issueRows).toHaveCount(2);
  await expect(detail.issueRows.first()).toContainText('daily_nulls_count');

  // Resolve from the detail page: the history grows at once.
  await detail.setStatus('RESOLVED');
  await expect(detail.historyRows).toHaveCount(3);
  await expect(detail.historyRows.first()).toContainText('RESOLVED');

  // Link a ticket.
  await detail.issueUrl.fill('https://tickets.example.com/browse/DQ-4242');
  await detail.saveIssueUrl.click();
  await expect(page.getByText('Issue link saved.')).toBeVisible();
  await page.reload();
  await detail.waitUntilReady();
  await expect(detail.issueUrl).toHaveValue('https://tickets.example.com/browse/DQ-4242');
  await expect(page.getByRole('link', { name: 'https://tickets.example.com/browse/DQ-4242' })).toBeVisible();
});

test('the incidents list filters by status and by text, and the overview counts by severity', async ({ page, request, tocsin }) => {
  const sources = new DataSourcesPage(page, tocsin.url);
  await sources.open();
  await sources.addConnection({ name: 'lake', provider: 'Databricks' });
  await expect(sources.connectionLink('lake')).toBeVisible();
  await ingest(request, tocsin.url, 'lake', [
    checkResult('orders', 'daily_nulls_percent', 2, hoursAgo(3)),
    checkResult('order_lines', 'daily_nulls_percent', 3, hoursAgo(2)),
    checkResult('customers', 'daily_nulls_percent', 3, hoursAgo(1)),
  ]);

  await page.goto(`${tocsin.url}/incidents`);
  const overview = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'lake', exact: true }) });
  await expect(overview.getByRole('cell')).toHaveText(['lake', '0', '1', '2', '0', '0', '0']);
  await overview.getByRole('link', { name: 'lake' }).click();

  const list = new IncidentListPage(page);
  await list.waitUntilReady();
  await list.setStatus('customers', 'RESOLVED');
  await expect(list.status('customers').locator('option:checked')).toHaveText('RESOLVED');

  await list.filterText.fill('order');
  await list.apply.click();
  await expect(page).toHaveURL(/filter=order/);
  await expect(list.tables).toHaveText(['order_lines', 'orders']);

  await list.filterText.fill('');
  await list.statusFilter('Open').uncheck();
  await list.statusFilter('Acknowledged').uncheck();
  await list.statusFilter('Resolved').check();
  await list.apply.click();
  await expect(list.tables).toHaveText(['customers']);

  await list.statusFilter('Resolved').uncheck();
  await list.apply.click();
  await expect(page.getByText('No incidents match these filters.')).toBeVisible();
});

// Page objects: a connection's incidents list and an incident's page.
import { expect, Locator, Page } from '@playwright/test';
import { waitForHydration } from './hydration';

export class IncidentListPage {
  readonly heading: Locator;
  readonly rows: Locator;
  readonly tables: Locator;
  readonly filterText: Locator;
  readonly apply: Locator;

  constructor(private readonly page: Page, private readonly javaScript = true) {
    this.heading = page.getByRole('heading', { level: 1 });
    this.rows = page.locator('table.incidents tbody tr');
    this.tables = page.locator('table.incidents tbody tr td:nth-child(5)');
    this.filterText = page.getByLabel('Filter incidents');
    this.apply = page.getByRole('button', { name: 'Apply' });
  }

  async open(origin: string, connection: string) {
    await this.page.goto(`${origin}/incidents/${connection}`);
    await this.waitUntilReady();
  }

  async waitUntilReady() {
    await expect(this.heading).toContainText('Data quality incidents on');
    await waitForHydration(this.page, this.javaScript);
  }

  row(table: string): Locator {
    return this.rows.filter({ has: this.page.getByRole('cell', { name: table, exact: true }) });
  }

  status(table: string): Locator {
    return this.page.getByLabel(`Resolution status of the incident on ${table}`);
  }

  async setStatus(table: string, status: string) {
    const changed = this.page.waitForResponse((r) => r.url().endsWith('/rpc/set_incident_status') && r.ok());
    await this.status(table).selectOption({ label: status });
    await changed;
  }

  totalIssues(table: string): Locator {
    return this.row(table).locator('td:nth-child(3)');
  }

  grouping(table: string): Locator {
    return this.row(table).locator('td:nth-child(6) a');
  }

  statusFilter(label: string): Locator {
    return this.page.getByRole('group', { name: 'Status' }).getByLabel(label, { exact: true });
  }
}

export class IncidentPage {
  readonly heading: Locator;
  readonly status: Locator;
  readonly historyRows: Locator;
  readonly issueRows: Locator;
  readonly issueUrl: Locator;
  readonly saveIssueUrl: Locator;

  constructor(private readonly page: Page, private readonly javaScript = true) {
    this.heading = page.getByRole('heading', { level: 1 });
    this.status = page.getByLabel('Status', { exact: true });
    this.historyRows = page.locator('table.history tbody tr');
    this.issueRows = page.locator('table.issues tbody tr');
    this.issueUrl = page.getByLabel('Issue URL');
    this.saveIssueUrl = page.getByRole('region', { name: 'Issue link' }).getByRole('button', { name: 'Save' });
  }

  async waitUntilReady() {
    await expect(this.page.getByRole('heading', { name: 'Status history' })).toBeVisible();
    await waitForHydration(this.page, this.javaScript);
  }

  async setStatus(status: string) {
    const changed = this.page.waitForResponse((r) => r.url().endsWith('/rpc/set_incident_status') && r.ok());
    await this.status.selectOption({ label: status });
    await changed;
  }
}

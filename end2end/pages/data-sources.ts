// Page object: the Data Sources page (/sources).
import { expect, Locator, Page } from '@playwright/test';
import { waitForHydration } from './hydration';

export type NewConnection = { name: string; provider: string; description?: string };

export class DataSourcesPage {
  readonly heading: Locator;
  readonly name: Locator;
  readonly provider: Locator;
  readonly description: Locator;
  readonly add: Locator;
  readonly nameError: Locator;

  constructor(
    private readonly page: Page,
    private readonly origin: string,
    private readonly javaScript = true,
  ) {
    this.heading = page.getByRole('heading', { level: 1, name: 'Data Sources' });
    this.name = page.getByLabel('Name', { exact: true });
    this.provider = page.getByLabel('Provider type');
    this.description = page.getByLabel('Description (optional)');
    this.add = page.getByRole('button', { name: 'Add connection' });
    this.nameError = page.locator('#name-error');
  }

  async open() {
    await this.page.goto(`${this.origin}/sources`);
    await expect(this.heading).toBeVisible();
    await waitForHydration(this.page, this.javaScript);
  }

  async addConnection(connection: NewConnection) {
    await this.name.fill(connection.name);
    await this.provider.selectOption({ label: connection.provider });
    if (connection.description !== undefined) await this.description.fill(connection.description);
    await this.add.click();
  }

  connectionRow(name: string): Locator {
    return this.page.getByRole('row').filter({ has: this.page.getByRole('link', { name, exact: true }) });
  }

  connectionLink(name: string): Locator {
    return this.page.getByRole('link', { name, exact: true });
  }
}

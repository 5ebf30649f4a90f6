// Page objects: the Filtered notifications table and the filter form.
import { expect, Locator, Page } from '@playwright/test';
import { waitForHydration } from './hydration';

export class FilterTable {
  readonly rows: Locator;
  readonly addButton: Locator;

  constructor(private readonly page: Page) {
    const table = page.locator('table.filters');
    this.rows = table.locator('tbody tr');
    this.addButton = page.getByRole('link', { name: 'Add filtered notification' });
  }

  row(name: string): Locator {
    return this.rows.filter({ has: this.page.getByRole('cell', { name, exact: true }) });
  }
}

export type FilterFields = {
  name?: string;
  priority?: string;
  schema?: string;
  table?: string;
  opened?: string;
  message?: string;
  goOn?: boolean;
  disabled?: boolean;
};

export class FilterFormPage {
  readonly saveButton: Locator;

  constructor(private readonly page: Page) {
    this.saveButton = page.getByRole('button', { name: 'Save' });
  }

  async waitUntilReady() {
    await expect(this.page.getByRole('heading', { name: 'Filter', exact: true })).toBeVisible();
    await waitForHydration(this.page, true);
  }

  field(label: string): Locator {
    return this.page.getByLabel(label, { exact: true });
  }

  async fill(fields: FilterFields) {
    if (fields.name !== undefined) await this.field('Name').fill(fields.name);
    if (fields.priority !== undefined) await this.field('Priority').fill(fields.priority);
    if (fields.schema !== undefined) await this.field('Schema').fill(fields.schema);
    if (fields.table !== undefined) await this.field('Table').fill(fields.table);
    if (fields.opened !== undefined) await this.field('A new incident was opened (detected)').fill(fields.opened);
    if (fields.message !== undefined) await this.field('Message').fill(fields.message);
    if (fields.goOn !== undefined) await this.field('Go on to further filters after this one').setChecked(fields.goOn);
    if (fields.disabled !== undefined) await this.field('Disabled').setChecked(fields.disabled);
  }
}

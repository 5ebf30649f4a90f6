// Page object: Global incident notifications (/definitions/default-notifications).
import { expect, Locator, Page } from '@playwright/test';
import { waitForHydration } from './hydration';
import { WEBHOOK_LABELS, WebhookField } from './incident-settings';

export class DefaultNotificationsPage {
  readonly saveButton: Locator;
  readonly savedNotice: Locator;
  readonly failureNotice: Locator;

  constructor(private readonly page: Page) {
    this.saveButton = page.getByRole('button', { name: 'Save' });
    this.savedNotice = page.getByRole('status').filter({ hasText: 'Global notification addresses saved.' });
    this.failureNotice = page.getByRole('status').filter({ hasText: 'Nothing was saved' });
  }

  static url(origin: string) {
    return `${origin}/definitions/default-notifications`;
  }

  async waitUntilReady() {
    await expect(this.page.getByRole('heading', { level: 1, name: 'Global incident notifications' })).toBeVisible();
    await waitForHydration(this.page, true);
  }

  webhook(field: WebhookField): Locator {
    return this.page.getByLabel(WEBHOOK_LABELS[field], { exact: true });
  }

  testButton(field: WebhookField): Locator {
    return this.page.locator('.field', { has: this.webhook(field) }).getByRole('button', { name: 'Send test message' });
  }

  testResult(field: WebhookField): Locator {
    return this.page.locator('.field', { has: this.webhook(field) }).locator('.test-result');
  }

  fieldError(field: WebhookField): Locator {
    return this.page.locator(`#incident_${field}_addresses-error`);
  }
}

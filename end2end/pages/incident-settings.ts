// Page object: a connection's Incidents and Notifications tab (/sources/connection/{name}/incidents).
import { expect, Locator, Page } from '@playwright/test';
import { waitForHydration } from './hydration';

export type IncidentSettings = {
  groupingLevel: string; // option label, e.g. 'Table / Quality dimension'
  minimumSeverity: 'Warning' | 'Error' | 'Fatal';
  separateDataGroups: boolean;
  maxIncidentDays: string;
  muteForDays: string;
  incidentCreation: boolean;
  opened: string;
  acknowledged: string;
  resolved: string;
  muted: string;
};

export const WEBHOOK_LABELS = {
  opened: 'A new incident was opened (detected)',
  acknowledged: 'An incident was acknowledged',
  resolved: 'An incident was resolved',
  muted: 'An incident was muted',
} as const;

export type WebhookField = keyof typeof WEBHOOK_LABELS;

const ERROR_IDS: Record<WebhookField, string> = {
  opened: '#incident_opened_addresses-error',
  acknowledged: '#incident_acknowledged_addresses-error',
  resolved: '#incident_resolved_addresses-error',
  muted: '#incident_muted_addresses-error',
};

export class IncidentSettingsPage {
  readonly groupingLevel: Locator;
  readonly minimumSeverity: Locator;
  readonly separateDataGroups: Locator;
  readonly maxIncidentDays: Locator;
  readonly muteForDays: Locator;
  readonly incidentCreation: Locator;
  readonly saveButton: Locator;
  readonly savedNotice: Locator;
  readonly failureNotice: Locator;

  constructor(
    private readonly page: Page,
    private readonly javaScript = true,
  ) {
    this.groupingLevel = page.getByLabel('Data quality incident grouping level');
    this.minimumSeverity = page.getByLabel('Minimum severity level');
    this.separateDataGroups = page.getByLabel('Create separate incidents for each data group');
    this.maxIncidentDays = page.getByLabel('Maximum incident duration');
    this.muteForDays = page.getByLabel('Mute data quality issues for');
    this.incidentCreation = page.getByLabel('Enable data quality incident creation');
    this.saveButton = page.getByRole('button', { name: 'Save' });
    this.savedNotice = page.getByRole('status').filter({ hasText: 'Incident and notification settings saved.' });
    this.failureNotice = page.getByRole('status').filter({ hasText: 'Nothing was saved' });
  }

  static url(origin: string, connection: string) {
    return `${origin}/sources/connection/${connection}/incidents`;
  }

  async open(origin: string, connection: string) {
    await this.page.goto(IncidentSettingsPage.url(origin, connection));
    await this.waitUntilReady();
  }

  async waitUntilReady() {
    await expect(this.page.getByRole('heading', { name: 'Webhooks for notifications of an incident state change' })).toBeVisible();
    await waitForHydration(this.page, this.javaScript);
  }

  webhook(field: WebhookField): Locator {
    return this.page.getByLabel(WEBHOOK_LABELS[field], { exact: true });
  }

  /** The "Send test message" button beside a webhook field. */
  testButton(field: WebhookField): Locator {
    return this.page.locator('.field', { has: this.webhook(field) }).getByRole('button', { name: 'Send test message' });
  }

  testResult(field: WebhookField): Locator {
    return this.page.locator('.field', { has: this.webhook(field) }).locator('.test-result');
  }

  get notificationRows(): Locator {
    return this.page.locator('table.notifications tbody tr');
  }

  webhookError(field: WebhookField): Locator {
    return this.page.locator(ERROR_IDS[field]);
  }

  async fill(settings: IncidentSettings) {
    await this.groupingLevel.selectOption({ label: settings.groupingLevel });
    await this.minimumSeverity.selectOption({ label: settings.minimumSeverity });
    await this.separateDataGroups.setChecked(settings.separateDataGroups);
    await this.maxIncidentDays.fill(settings.maxIncidentDays);
    await this.muteForDays.fill(settings.muteForDays);
    await this.incidentCreation.setChecked(settings.incidentCreation);
    for (const field of Object.keys(WEBHOOK_LABELS) as WebhookField[]) {
      await this.webhook(field).fill(settings[field]);
    }
  }

  async save() {
    await this.saveButton.click();
  }

  /** Checks every control shows `settings`, as a person reading the form would. */
  async expectValues(settings: IncidentSettings) {
    await expect(this.groupingLevel.locator('option:checked')).toHaveText(settings.groupingLevel);
    await expect(this.minimumSeverity.locator('option:checked')).toHaveText(settings.minimumSeverity);
    if (settings.separateDataGroups) await expect(this.separateDataGroups).toBeChecked();
    else await expect(this.separateDataGroups).not.toBeChecked();
    await expect(this.maxIncidentDays).toHaveValue(settings.maxIncidentDays);
    await expect(this.muteForDays).toHaveValue(settings.muteForDays);
    if (settings.incidentCreation) await expect(this.incidentCreation).toBeChecked();
    else await expect(this.incidentCreation).not.toBeChecked();
    for (const field of Object.keys(WEBHOOK_LABELS) as WebhookField[]) {
      await expect(this.webhook(field)).toHaveValue(settings[field]);
    }
  }
}

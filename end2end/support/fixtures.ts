// Test fixtures: a fresh Tocsin server per test, and a console that must stay free of errors.
import { test as base, expect, Page } from '@playwright/test';
import { TocsinServer } from './server';

export class ConsoleErrors {
  readonly messages: string[] = [];
  private ignored: RegExp[] = [];

  attach(page: Page) {
    page.on('console', (message) => {
      if (message.type() === 'error') this.messages.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => this.messages.push(`page error: ${error.message}`));
  }

  /** Expects messages matching `pattern` (e.g. the browser's own note about a 404 response). */
  ignore(pattern: RegExp) {
    this.ignored.push(pattern);
  }

  unexpected(): string[] {
    return this.messages.filter((text) => !this.ignored.some((pattern) => pattern.test(text)));
  }
}

type Fixtures = {
  tocsin: TocsinServer;
  consoleErrors: ConsoleErrors;
};

export const test = base.extend<Fixtures>({
  tocsin: async ({}, use) => {
    const server = await TocsinServer.start();
    await use(server);
    await server.dispose();
  },
  consoleErrors: [
    async ({ page }, use) => {
      const errors = new ConsoleErrors();
      errors.attach(page);
      await use(errors);
      expect(errors.unexpected(), 'the browser console shows no errors').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs on the host in seconds (gateway, app, real local peers such
// as cgi-fcgi and nginx); `integration` builds the five images and needs a Docker engine.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts', 'tests/http/**/*.test.ts', 'tests/peers/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          globalSetup: ['tests/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});

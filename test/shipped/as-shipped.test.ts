import { beforeAll } from 'vitest';
import { buildShippedArtifacts } from './build.js';
import { describeInProduction } from './in-production.js';
import { describeOnTheDefaults } from './on-the-defaults.js';

/**
 * What users run: the gym and the pool built by their own scripts and started as `npm start` and `npm run pool` start
 * them, on the defaults and in production as the README configures them. One file, so the build happens once, in
 * this file's own time beside the browser tests.
 */
beforeAll(() => buildShippedArtifacts(), 180_000);

describeOnTheDefaults();
describeInProduction();

import path from 'node:path';
import { buildPoolSchema } from '../../pool/app.js';
import { buildSchema } from '../../schema.js';
import { renderAuthorizationMarkdown, renderAuthorizationText } from './describe.js';
import { SCHEMA_DIR } from '../../shared/paths.js';

/** The committed report: reviewers read every change of access in its diff. */
export const AUTHORIZATION_REPORT_PATH = path.join(SCHEMA_DIR, 'AUTHORIZATION.md');

/** Both services' schemas exactly as they are served, @auth transform and build-time checks included. */
function servedSchemas() {
  return [
    { title: 'The gym (`npm start`)', schema: buildSchema() },
    { title: 'The pool (`npm run pool`)', schema: buildPoolSchema() },
  ];
}

/** What `schema/AUTHORIZATION.md` must say for the schemas as they are now. */
export function authorizationReport(): string {
  return renderAuthorizationMarkdown(servedSchemas());
}

/** The same, as lines for a terminal. */
export function authorizationReportText(): string {
  return renderAuthorizationText(servedSchemas());
}

import { loadConfig } from '../config.js';
import { ConfigError } from '../shared/errors.js';
import { describeError } from '../shared/logger.js';
import { addSigningKey, KeyRing } from '../auth/keys.js';

/**
 * `npm run keys:rotate`: adds a new ES256 key to KEYS_DIR, named to sort last, so it signs from now on. Older keys
 * stay published and keep verifying the tokens they signed; remove a key file only once ACCESS_TOKEN_TTL (and, for
 * partners, PARTNER_TOKEN_TTL) has passed since the rotation. A running server picks the key up within a minute.
 */
try {
  const config = loadConfig(process.env);
  const kid = addSigningKey(config.keysDir);
  const ring = KeyRing.fromDirectory(config.keysDir);
  console.log(`Added signing key ${kid} in ${config.keysDir}; it now signs. Published keys: ${ring.jwks().keys.map((k) => k.kid).join(', ')}`);
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `keys:rotate failed: ${describeError(err)}`);
  process.exit(1);
}

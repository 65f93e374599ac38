import { describe, expect, it } from 'vitest';
import { cookieOriginAllowed } from '../../src/live/server.js';

describe('which pages may open a socket on the session cookie', () => {
  const development = { trusted: new Set(['http://localhost:4000', 'https://front.gym.example']), production: false };
  const production = { trusted: new Set(['https://gym.example', 'https://front.gym.example']), production: true };

  it("admits the gym's own origin, a CORS origin, and a page of the host the socket was addressed to", () => {
    expect(cookieOriginAllowed('http://localhost:4000', 'localhost:4000', development)).toBe(true);
    expect(cookieOriginAllowed('https://front.gym.example', 'localhost:4000', development)).toBe(true);
    expect(cookieOriginAllowed('http://127.0.0.1:4000', '127.0.0.1:4000', development)).toBe(true);
    expect(cookieOriginAllowed('https://gym.example', 'gym.example', production)).toBe(true);
  });

  it('refuses another site, another port of the same host, no Origin, and the opaque origin null', () => {
    for (const allowed of [development, production]) {
      expect(cookieOriginAllowed('https://evil.example', 'gym.example', allowed)).toBe(false);
      expect(cookieOriginAllowed('http://localhost:5000', 'localhost:4000', allowed)).toBe(false);
      expect(cookieOriginAllowed(undefined, 'localhost:4000', allowed)).toBe(false);
      expect(cookieOriginAllowed('null', 'localhost:4000', allowed)).toBe(false);
      expect(cookieOriginAllowed('http://localhost:4000', undefined, { trusted: new Set(), production: false })).toBe(false);
    }
  });

  it("refuses, in production, a plain-HTTP page on the gym's own host", () => {
    expect(cookieOriginAllowed('http://gym.example', 'gym.example', production)).toBe(false);
    expect(cookieOriginAllowed('https://gym.example', 'gym.example', { trusted: new Set(), production: true })).toBe(true);
  });
});

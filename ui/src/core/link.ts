//! Join links: `http://HOST:PORT/s/SESSION#k=SECRET[&a=IP:PORT,...]`. A port of
//! `crates/client/src/target.rs` (PROTOCOL §1.2), plus the reverse: a link from `credentials`.

/** A session on a server, read from a join link. */
export interface JoinTarget {
  /** The server's WebSocket endpoint, `ws(s)://HOST:PORT/ws`. */
  wsUrl: string;
  /** The page origin the link points at, `http(s)://HOST:PORT`. */
  origin: string;
  session: string;
  /** From the link's `#k=` fragment; `null` when the join needs a PIN. */
  secret: string | null;
  /** The host's other addresses from `&a=`, as WebSocket URLs. */
  alternates: string[];
}

export class LinkError extends Error {}

/** Reads a join link. Throws [`LinkError`] with a sentence a person can act on. */
export function parseJoinLink(input: string): JoinTarget {
  const link = input.trim();
  if (!link) throw new LinkError('Paste a join link, like http://192.168.1.5:7878/s/abc123#k=…');
  const withScheme = link.includes('://') ? link : `http://${link}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new LinkError(`"${link}" is not a join link`);
  }
  const scheme = url.protocol.replace(/:$/, '');
  let secure: boolean;
  if (scheme === 'http' || scheme === 'ws') secure = false;
  else if (scheme === 'https' || scheme === 'wss') secure = true;
  else throw new LinkError(`unsupported scheme "${scheme}"; use http, https, ws or wss`);
  const segs = url.pathname.split('/').filter((p) => p.length > 0);
  let session: string | null = null;
  if (segs.length === 2 && segs[0] === 's') session = decodeURIComponent(segs[1]);
  else if ((segs.length === 1 && segs[0] === 'ws') || segs.length === 0) session = url.searchParams.get('session');
  if (!session) throw new LinkError('the link names no session; expected a path like /s/SESSION');
  // The fragment is split on `&` and not percent-decoded (the secret is sent back exactly).
  const frag = url.hash.replace(/^#/, '');
  const items = frag ? frag.split('&') : [];
  const k = items.find((kv) => kv.startsWith('k='))?.slice(2) ?? '';
  const a = items.find((kv) => kv.startsWith('a='))?.slice(2) ?? '';
  const host = url.host; // host[:port], IPv6 in brackets; a default port is left out
  const wsScheme = secure ? 'wss' : 'ws';
  const alternates = a
    .split(',')
    .filter((s) => s.length > 0 && isSocketAddr(s))
    .map((hp) => `${wsScheme}://${hp}/ws`);
  return {
    wsUrl: `${wsScheme}://${host}/ws`,
    origin: `${secure ? 'https' : 'http'}://${host}`,
    session,
    secret: k.length > 0 ? k : null,
    alternates,
  };
}

/** `IP:PORT` with an IPv4 address or a bracketed IPv6 one, as Rust's `SocketAddr` parses. */
function isSocketAddr(s: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,5})$/.exec(s);
  if (v4) return v4.slice(1, 5).every((o) => Number(o) <= 255) && Number(v4[5]) <= 65535;
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(s);
  return !!v6 && v6[1].includes(':') && Number(v6[2]) <= 65535;
}

/**
 * The join link for a session with `secret`, on the server behind `wsUrl`: scheme `http` (or
 * `https` for `wss`), the same host and port, path `/s/SESSION`, fragment `k=SECRET`.
 */
export function buildJoinLink(wsUrl: string, session: string, secret: string): string {
  const u = new URL(wsUrl);
  const scheme = u.protocol === 'wss:' ? 'https' : 'http';
  return `${scheme}://${u.host}/s/${encodeURIComponent(session)}#k=${secret}`;
}

/** What a page loaded from the host itself knows: the session from its path, the secret from its hash. */
export function targetFromLocation(loc: { protocol: string; host: string; pathname: string; hash: string }): JoinTarget | null {
  const m = /^\/s\/([^/]+)\/?$/.exec(loc.pathname);
  if (!m) return null;
  const secure = loc.protocol === 'https:';
  const items = loc.hash.replace(/^#/, '').split('&');
  const k = items.find((kv) => kv.startsWith('k='))?.slice(2) ?? '';
  return {
    wsUrl: `${secure ? 'wss' : 'ws'}://${loc.host}/ws`,
    origin: `${secure ? 'https' : 'http'}://${loc.host}`,
    session: decodeURIComponent(m[1]),
    secret: k.length > 0 ? k : null,
    alternates: [],
  };
}

// The STUN/TURN servers a render node tells its clients: WHEP/WHIP Link
// headers with rel="ice-server" (RFC 9725 §4.6; link syntax of RFC 8288),
// with username, credential and credential-type="password" for TURN. The
// node names them in its answer to an OPTIONS on the sessions URL that
// carries the token, so that the peer connection has them before the
// offer is made (the client does not trickle candidates).

/** The most ice-server links taken from one answer. */
export const MAX_ICE_SERVERS = 16;

/**
 * Returns the ICE servers of a Link header value (fetch joins several Link
 * headers with ", "). Links of other relation types are skipped; a value
 * that does not parse, or an ice-server link to anything but a stun:,
 * stuns:, turn: or turns: URI, throws.
 */
export function parseIceServerLinks(header: string | null): RTCIceServer[] {
  const out: RTCIceServer[] = [];
  if (!header) return out;
  const s = header;
  let i = 0;
  const space = () => { while (i < s.length && (s[i] === " " || s[i] === "\t")) i++; };
  const isTokenChar = (c: string) => /[A-Za-z0-9!#$%&'*+\-.^_`|~]/.test(c);
  const token = () => { const start = i; while (i < s.length && isTokenChar(s[i])) i++; return s.slice(start, i); };
  const value = (): string => {
    if (s[i] !== '"') {
      const v = token();
      if (!v) throw new Error(`Link header: want a parameter value at ${i}`);
      return v;
    }
    i++;
    let v = "";
    while (i < s.length) {
      let c = s[i++];
      if (c === '"') return v;
      if (c === "\\") {
        if (i >= s.length) break;
        c = s[i++];
      }
      v += c;
    }
    throw new Error("Link header: unterminated quoted-string");
  };
  for (;;) {
    space();
    if (i >= s.length) break;
    if (s[i] === ",") { i++; continue; }
    if (s[i] !== "<") throw new Error(`Link header: want '<' at ${i}`);
    const end = s.indexOf(">", i);
    if (end < 0) throw new Error("Link header: unterminated <target>");
    const target = s.slice(i + 1, end);
    i = end + 1;
    const params = new Map<string, string>();
    for (;;) {
      space();
      if (i >= s.length) break;
      if (s[i] === ",") { i++; break; }
      if (s[i] !== ";") throw new Error(`Link header: want ';' or ',' at ${i}`);
      i++;
      space();
      const name = token().toLowerCase();
      if (!name) throw new Error(`Link header: want a parameter name at ${i}`);
      space();
      let v = "";
      if (s[i] === "=") { i++; space(); v = value(); }
      if (!params.has(name)) params.set(name, v);
    }
    const rels = (params.get("rel") ?? "").toLowerCase().split(/\s+/);
    if (!rels.includes("ice-server")) continue;
    if (!/^(stun|stuns|turn|turns):/i.test(target)) throw new Error(`Link header: ice-server ${target} is not a STUN or TURN URI`);
    const ct = params.get("credential-type");
    if (ct !== undefined && ct !== "password") throw new Error(`Link header: credential-type ${ct} is not supported`);
    if (out.length === MAX_ICE_SERVERS) throw new Error(`Link header: more than ${MAX_ICE_SERVERS} ice servers`);
    const server: RTCIceServer = { urls: target };
    const user = params.get("username"), cred = params.get("credential");
    if (user !== undefined || cred !== undefined) { server.username = user ?? ""; server.credential = cred ?? ""; }
    out.push(server);
  }
  return out;
}

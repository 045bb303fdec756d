// The render node's access token. The node prints the URL to open with the
// token in its fragment (https://host:port/#token=…): browsers send
// fragments to no server and put them in no Referer header. The page takes
// the token from there, removes it from the address bar (and so from
// history and bookmarks) and keeps it in sessionStorage for this tab only,
// so a reload still connects and a new tab needs the printed URL again.

/** sessionStorage key of the token. */
export const TOKEN_KEY = "holocast.token";

/**
 * Splits the token out of a URL fragment ("#token=…", possibly among other
 * "&"-separated parameters). rest is the fragment without it ("" or "#…").
 * '+' stays '+' (tokens are token68), percent escapes are decoded.
 */
export function splitFragment(hash: string): { token: string | null; rest: string } {
  const h = hash.startsWith("#") ? hash.slice(1) : hash;
  let token: string | null = null;
  const keep: string[] = [];
  for (const part of h.split("&")) {
    if (part.startsWith("token=")) {
      let v = part.slice("token=".length);
      try { v = decodeURIComponent(v); } catch { /* keep it as it came */ }
      if (v) token = v;
    } else if (part) keep.push(part);
  }
  return { token, rest: keep.length ? "#" + keep.join("&") : "" };
}

interface Place { hash: string; pathname: string; search: string }
interface Hist { state: unknown; replaceState(data: unknown, unused: string, url?: string | URL | null): void }
interface Store { getItem(key: string): string | null; setItem(key: string, value: string): void }

/**
 * Takes the token from the page's fragment, if there is one: keeps it in
 * store and removes it from the address bar with history.replaceState.
 * Returns it, or the one kept earlier in this tab, or null.
 */
export function adoptToken(loc: Place, hist: Hist, store: Store | null): string | null {
  const { token, rest } = splitFragment(loc.hash);
  if (token !== null) {
    try { store?.setItem(TOKEN_KEY, token); } catch { /* storage disabled: this page load only */ }
    hist.replaceState(hist.state, "", loc.pathname + loc.search + rest);
    return token;
  }
  try { return store?.getItem(TOKEN_KEY) ?? null; } catch { return null; }
}

/** The page's sessionStorage, or null where it is unavailable. */
export function tabStorage(): Store | null {
  try { return window.sessionStorage; } catch { return null; }
}

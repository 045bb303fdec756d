import { test } from "node:test";
import assert from "node:assert/strict";
import { adoptToken, splitFragment, TOKEN_KEY } from "../../src/token";
import { unauthorizedMessage } from "../../src/connection";

test("the token is split out of the fragment, other parameters kept", () => {
  assert.deepEqual(splitFragment("#token=abc.DEF-_~+/="), { token: "abc.DEF-_~+/=", rest: "" });
  assert.deepEqual(splitFragment("#a=1&token=x%2By&b"), { token: "x+y", rest: "#a=1&b" });
  assert.deepEqual(splitFragment(""), { token: null, rest: "" });
  assert.deepEqual(splitFragment("#view"), { token: null, rest: "#view" });
  assert.deepEqual(splitFragment("#token="), { token: null, rest: "" });
  assert.deepEqual(splitFragment("#token=%E0%A4"), { token: "%E0%A4", rest: "" }, "a bad escape is kept as it came");
});

function fakes(hash: string, stored: string | null = null) {
  const store = new Map<string, string>();
  if (stored !== null) store.set(TOKEN_KEY, stored);
  const urls: string[] = [];
  const loc = { hash, pathname: "/", search: "?mode=flat" };
  const hist = { state: { s: 1 }, replaceState: (_d: unknown, _u: string, url?: string | URL | null) => { urls.push(String(url)); } };
  const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => { store.set(k, v); } };
  return { loc, hist, storage, store, urls };
}

test("a fragment token is kept for the tab and removed from the address bar", () => {
  const f = fakes("#token=secret-1234567890abcdef&x=1");
  assert.equal(adoptToken(f.loc, f.hist, f.storage), "secret-1234567890abcdef");
  assert.equal(f.store.get(TOKEN_KEY), "secret-1234567890abcdef");
  assert.deepEqual(f.urls, ["/?mode=flat#x=1"], "the address bar keeps path, query and other fragment parameters");
});

test("without a fragment token the tab's kept token is used, and the address bar is left alone", () => {
  const f = fakes("", "kept-token-0123456789");
  assert.equal(adoptToken(f.loc, f.hist, f.storage), "kept-token-0123456789");
  assert.deepEqual(f.urls, []);
  const none = fakes("#other");
  assert.equal(adoptToken(none.loc, none.hist, none.storage), null);
  assert.equal(adoptToken(none.loc, none.hist, null), null, "no storage");
});

test("a new fragment token replaces the kept one", () => {
  const f = fakes("#token=new-token-0123456789", "old-token-0123456789");
  assert.equal(adoptToken(f.loc, f.hist, f.storage), "new-token-0123456789");
  assert.equal(f.store.get(TOKEN_KEY), "new-token-0123456789");
});

test("storage that throws does not stop the page", () => {
  const f = fakes("#token=t-0123456789abcdef");
  const bad = { getItem: () => { throw new Error("denied"); }, setItem: () => { throw new Error("denied"); } };
  assert.equal(adoptToken(f.loc, f.hist, bad), "t-0123456789abcdef");
  assert.equal(adoptToken(fakes("").loc, f.hist, bad), null);
});

test("the unauthorized message says what to do", () => {
  assert.match(unauthorizedMessage(false, "unauthorized: this render node needs an access token"), /needs an access token.*#token=/);
  const m = unauthorizedMessage(true, "unauthorized: invalid token");
  assert.match(m, /refused this page's access token \(invalid token\)/);
  assert.match(m, /#token=/);
});

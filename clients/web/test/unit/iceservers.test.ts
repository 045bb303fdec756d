import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_ICE_SERVERS, parseIceServerLinks } from "../../src/iceservers";

test("ice-server links of a node's answer (fetch joins several Link headers with ', ')", () => {
  const header = [
    `<stun:stun.example.net:3478>; rel="ice-server"`,
    `<https://example.net/next>; rel="next"`,
    `<turn:turn.example.net:3478?transport=udp>; rel="ice-server"; username="1900000000:ab12"; credential="c2Vj,cmV0"; credential-type="password"`,
    `<turns:turn.example.net:5349>; rel=ice-server; username="we\\"ird"; credential=x`,
  ].join(", ");
  assert.deepEqual(parseIceServerLinks(header), [
    { urls: "stun:stun.example.net:3478" },
    { urls: "turn:turn.example.net:3478?transport=udp", username: "1900000000:ab12", credential: "c2Vj,cmV0" },
    { urls: "turns:turn.example.net:5349", username: 'we"ird', credential: "x" },
  ]);
  assert.deepEqual(parseIceServerLinks(null), []);
  assert.deepEqual(parseIceServerLinks(" , "), []);
});

test("bad ice-server links are refused", () => {
  for (const bad of [
    `<https://evil.example>; rel="ice-server"`,
    `<turn:t.example>; rel="ice-server"; credential-type="oauth"`,
    `stun:s.example; rel="ice-server"`,
    `<stun:s.example; rel="ice-server"`,
    `<stun:s.example>; rel="ice-server`,
    `<stun:s.example> x`,
    Array(MAX_ICE_SERVERS + 1).fill(`<stun:s.example>; rel="ice-server"`).join(", "),
  ]) {
    assert.throws(() => parseIceServerLinks(bad), /Link header/, bad);
  }
});

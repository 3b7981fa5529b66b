import assert from "node:assert/strict";
import { test } from "node:test";
import { isIPv4, isIPv6 } from "node:net";
import { CLUSTER_SUBNET, HOSTS, LAB_NAMESPACES, LAB_PREFIX, NODES, allProbes, probeKey } from "./plan.js";

test("every namespace carries the lab prefix, so demo --clean finds it", () => {
  for (const ns of LAB_NAMESPACES) assert.ok(ns.startsWith(LAB_PREFIX), ns);
  assert.equal(new Set(LAB_NAMESPACES).size, HOSTS.length + 1);
});

test("host names fit a Linux interface name (they name the bridge ports)", () => {
  for (const h of HOSTS) assert.ok(h.name.length <= 15, h.name);
});

test("addresses and MACs are valid and distinct; only the external client is outside the cluster subnet", () => {
  const base = CLUSTER_SUBNET.split("/")[0]!.split(".").slice(0, 3).join(".") + ".";
  for (const h of HOSTS) {
    assert.ok(isIPv4(h.ipv4) && isIPv6(h.ipv6), h.name);
    assert.match(h.mac, /^02(:[0-9a-f]{2}){5}$/); // locally administered unicast
    assert.equal(h.ipv4.startsWith(base), h.role !== "external", h.name);
  }
  for (const key of ["ipv4", "ipv6", "mac", "netns"] as const) assert.equal(new Set(HOSTS.map((h) => h[key])).size, HOSTS.length, key);
});

test("the probe list covers every source × family × node × service once", () => {
  const probes = allProbes();
  assert.equal(probes.length, HOSTS.length * 2 * NODES.length * 8);
  assert.equal(new Set(probes.map(probeKey)).size, probes.length);
  assert.ok(probes.every((p) => p.dest.role !== "external"));
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { CLUSTER_SUBNET, EXTERNAL_SUBNET, HOSTS } from "./plan.js";
import { hostCommands, switchCommands } from "./lab.js";

const cp1 = HOSTS.find((h) => h.name === "cp1")!;
const external = HOSTS.find((h) => h.role === "external")!;

test("the switch gets one bridge port per host, the other end created in the host's namespace", () => {
  const cmds = switchCommands(HOSTS);
  for (const h of HOSTS) {
    assert.ok(cmds.includes(`link add ${h.name} type veth peer name eth0 netns ${h.netns}`), h.name);
    assert.ok(cmds.includes(`link set ${h.name} master br0`), h.name);
  }
});

test("nodes reach the external subnet on-link and the external client reaches the cluster the same way", () => {
  assert.ok(hostCommands(cp1, HOSTS).includes(`route add ${EXTERNAL_SUBNET} dev eth0`));
  assert.ok(hostCommands(external, HOSTS).includes(`route add ${CLUSTER_SUBNET} dev eth0`));
});

test("every host has static IPv6 neighbours for all the others and none for itself; lo is up", () => {
  for (const h of HOSTS) {
    const cmds = hostCommands(h, HOSTS);
    const neigh = cmds.filter((c) => c.startsWith("neigh "));
    assert.equal(neigh.length, HOSTS.length - 1, h.name);
    assert.ok(!neigh.some((c) => c.includes(` ${h.ipv6} `)), h.name);
    assert.ok(cmds.includes("link set lo up"));
    assert.ok(cmds.some((c) => c.startsWith(`addr add ${h.ipv6}/64`) && c.endsWith("nodad")));
  }
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatAddress, parsePrefix } from "../net/address.js";
import { PROFILES } from "../compile/profiles.js";
import type { ClusterInfo } from "../config/model.js";
import { configExcludedPrefixes, parseIpAddr, selectNodeAddresses } from "./node-addresses.js";

// Shaped like `ip -j addr show up` (iproute2 6.1), trimmed to the fields that matter.
const IP_ADDR = JSON.stringify([
  {
    ifname: "lo",
    flags: ["LOOPBACK", "UP", "LOWER_UP"],
    addr_info: [
      { family: "inet", local: "127.0.0.1" },
      { family: "inet6", local: "::1" },
    ],
  },
  {
    ifname: "eth0",
    flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
    addr_info: [
      { family: "inet", local: "10.3.4.5" },
      { family: "inet", local: "169.254.116.108" },
      { family: "inet", local: "10.244.1.1" },
      { family: "inet6", local: "2001:db8::5" },
      { family: "inet6", local: "fe80::1" },
      { family: "inet6", local: "fd54:616c:6f73::204f:5320:444e:531" },
      { family: "inet6", local: "ff02::1" },
    ],
  },
  { ifname: "siderolink", flags: ["POINTOPOINT", "UP"], addr_info: [{ family: "inet6", local: "fdae:41e4:649b:9303::7" }] },
  {
    ifname: "eth1",
    flags: ["UP"],
    addr_info: [
      { family: "inet", local: "192.168.9.9" },
      { family: "inet", local: "10.3.4.5" },
    ],
  },
]);

const text = (as: { family: 4 | 6; value: bigint }[]) => as.map((a) => formatAddress(a.family, a.value));

describe("node addresses (§5.10)", () => {
  it("keeps routed addresses of up links, sorted and without duplicates", () => {
    assert.deepEqual(text(selectNodeAddresses(parseIpAddr(IP_ADDR))), ["10.3.4.5", "10.244.1.1", "192.168.9.9", "2001:db8::5"]);
  });

  it("drops addresses inside the pod/service subnets when a cluster network config exists", () => {
    const main: ClusterInfo = {
      podSubnets: [parsePrefix("10.244.0.0/16")],
      serviceSubnets: [parsePrefix("10.96.0.0/12")],
      forwardKubeDNSToHost: false,
      hasClusterNetwork: true,
      pos: { file: "x", line: 1, col: 1 },
    };
    assert.deepEqual(text(selectNodeAddresses(parseIpAddr(IP_ADDR), configExcludedPrefixes(main, PROFILES.talos))), ["10.3.4.5", "192.168.9.9", "2001:db8::5"]);
    assert.deepEqual(configExcludedPrefixes({ ...main, hasClusterNetwork: false }, PROFILES.talos), [], "talos needs cluster.network (P8)");
    assert.deepEqual(configExcludedPrefixes(null, PROFILES.talos), []);
  });

  it("reads iproute2's empty answer `[{}]`", () => {
    assert.deepEqual(selectNodeAddresses(parseIpAddr("[{}]")), []);
  });
});

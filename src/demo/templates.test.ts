import assert from "node:assert/strict";
import { test } from "node:test";
import { hasErrors } from "../config/diagnostics.js";
import { loadConfig } from "../config/load.js";
import { templateVariables } from "./plan.js";
import { CONTROLPLANE_TEMPLATE, WORKER_TEMPLATE, fillTemplate, seedDocument } from "./templates.js";

test("fillTemplate replaces every variable, including one followed by /32", () => {
  assert.equal(fillTemplate("a: $CP1/32 b: $CLUSTER_SUBNET", { CP1: "10.0.0.1", CLUSTER_SUBNET: "10.0.0.0/8" }), "a: 10.0.0.1/32 b: 10.0.0.0/8");
});

test("fillTemplate refuses a variable without a value", () => {
  assert.throws(() => fillTemplate("ports: [$VXLAN_PORT]", {}), /\$VXLAN_PORT has no value/);
});

test("the templates use exactly the seed's variables", () => {
  const used = new Set([...(CONTROLPLANE_TEMPLATE + WORKER_TEMPLATE).matchAll(/\$([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]));
  assert.deepEqual([...used].sort(), ["CLUSTER_SUBNET", "CP1", "CP2", "CP3", "VXLAN_PORT"]);
  assert.deepEqual(Object.keys(templateVariables()).sort(), [...used].sort());
});

for (const role of ["controlplane", "worker"] as const) {
  test(`the filled-in ${role} example validates and keeps the seed's documents`, () => {
    const doc = seedDocument(role, templateVariables());
    assert.ok(!doc.text.includes("$"), "a variable was left in place");
    const { config, diagnostics } = loadConfig([doc]);
    assert.ok(!hasErrors(diagnostics), JSON.stringify(diagnostics));
    assert.equal(config.defaultAction?.action, "block");
    const names = config.rules.map((r) => r.name);
    assert.deepEqual(
      names,
      role === "controlplane"
        ? ["kubelet-ingress", "apid-ingress", "trustd-ingress", "kubernetes-api-ingress", "etcd-ingress", "cni-vxlan"]
        : ["kubelet-ingress", "apid-ingress", "cni-vxlan"],
    );
  });
}

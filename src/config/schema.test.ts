// schema/ingressfw.schema.json against the decoders: every example document validates against the schema
// and decodes without errors; typical invalid documents fail both. ajv (a devDependency) is the validator:
// draft 2020-12 needs a full implementation (if/then, $defs, $ref), which is not worth writing here.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parseAllDocuments } from "yaml";
import { LOG_API_VERSION, LOG_DEFAULTS, LOG_KIND, LOG_LIMITS } from "./decode-log-config.js";
import { hasErrors } from "./diagnostics.js";
import { loadConfig } from "./load.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const schema = JSON.parse(readFileSync(join(ROOT, "schema/ingressfw.schema.json"), "utf8")) as Record<string, unknown>;
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema);

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

/** Each document of a YAML stream as plain data and as its own text. */
function documents(text: string): { data: unknown; text: string }[] {
  return parseAllDocuments(text).flatMap((d) => (d.contents === null ? [] : [{ data: d.toJS(), text: d.toString() }]));
}

const decodeErrors = (text: string) => loadConfig([{ file: "t.yaml", text }]).diagnostics.filter((d) => d.severity === "error");

const LOG = (extra: string) => `apiVersion: ${LOG_API_VERSION}\nkind: ${LOG_KIND}\n${extra}`;
const RULE = (extra: string) => `apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: r\n${extra}`;

describe("JSON Schema (schema/ingressfw.schema.json)", () => {
  it("is valid draft 2020-12 (ajv strict mode compiles it)", () => {
    assert.equal(typeof validate, "function");
  });

  const files = yamlFiles(join(ROOT, "examples"));
  it("finds the example documents", () => assert.ok(files.length >= 5, files.join(", ")));
  for (const file of files) {
    it(`validates every document of ${file.slice(ROOT.length)}; the decoders accept it too`, () => {
      const text = readFileSync(file, "utf8");
      for (const doc of documents(text)) assert.ok(validate(doc.data), `${JSON.stringify(validate.errors)}\n${doc.text}`);
      assert.deepEqual(decodeErrors(text), []);
    });
  }

  const valid: Record<string, string> = {
    "a rule with a range, no protocol and an ingress entry without except": RULE(
      'portSelector:\n  ports: [80, "8000-8080"]\ningress:\n  - subnet: 10.0.0.0/8\n',
    ),
    "an upper-case protocol and a null ingress": RULE("portSelector:\n  ports: [53]\n  protocol: UDP\ningress:\n"),
    "block in another case": "apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: Block\n",
    "logging with every field": LOG("drops: true\nrate: 5/second\nburst: 10\ngroup: 0\n"),
    "logging with defaults only": LOG(""),
    "a main document": "version: v1alpha1\ncluster:\n  network:\n    podSubnets: [10.244.0.0/16]\nmachine:\n  type: controlplane\n",
  };
  for (const [what, text] of Object.entries(valid)) {
    it(`accepts ${what}, as the decoders do`, () => {
      assert.deepEqual(decodeErrors(text), []);
      assert.ok(validate(documents(text)[0]!.data), JSON.stringify(validate.errors));
    });
  }

  const invalid: Record<string, string> = {
    "an unknown field in a rule": RULE("portSelector:\n  ports: [80]\nsource: 10.0.0.0/8\n"),
    "an unknown field in the port selector": RULE("portSelector:\n  ports: [80]\n  proto: tcp\n"),
    "a port above 65535": RULE("portSelector:\n  ports: [70000]\n"),
    "a port range with a colon": RULE('portSelector:\n  ports: ["80:90"]\n'),
    "an unknown protocol": RULE("portSelector:\n  ports: [80]\n  protocol: sctp\n"),
    "a rule without ports": RULE("ingress: []\n"),
    "a rule with the wrong apiVersion": "apiVersion: v1\nkind: NetworkRuleConfig\nname: r\nportSelector:\n  ports: [80]\n",
    "an unknown default action": "apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: drop\n",
    "logging with a Talos apiVersion": `apiVersion: v1alpha1\nkind: ${LOG_KIND}\ndrops: true\n`,
    "logging with drops as a string": LOG('drops: "yes"\n'),
    "logging with a rate in days": LOG("rate: 10/day\n"),
    "logging with a rate without a unit": LOG("rate: 10\n"),
    "logging with a burst of 0": LOG("burst: 0\n"),
    "logging with a burst above the maximum": LOG(`burst: ${LOG_LIMITS.burstMax + 1}\n`),
    "logging with a group above 65535": LOG(`group: ${LOG_LIMITS.groupMax + 1}\n`),
    "logging with an unknown field": LOG("prefix: mine\n"),
  };
  for (const [what, text] of Object.entries(invalid)) {
    it(`rejects ${what}, as the decoders do`, () => {
      assert.ok(hasErrors(decodeErrors(text)), "the decoders accept it");
      assert.equal(validate(documents(text)[0]!.data), false, "the schema accepts it");
    });
  }

  it("states the decoders' limits and defaults for IngressLogConfig", () => {
    const props = (schema.$defs as Record<string, { properties: Record<string, Record<string, unknown>> }>).IngressLogConfig!.properties;
    assert.equal(props.burst!.maximum, LOG_LIMITS.burstMax);
    assert.equal(props.group!.maximum, LOG_LIMITS.groupMax);
    assert.equal(props.burst!.default, LOG_DEFAULTS.burst);
    assert.equal(props.group!.default, LOG_DEFAULTS.group);
    assert.equal(props.drops!.default, LOG_DEFAULTS.drops);
    assert.equal(props.rate!.default, `${LOG_DEFAULTS.rate.count}/${LOG_DEFAULTS.rate.per}`);
    assert.match(String(props.rate!.description), new RegExp(`1 to ${LOG_LIMITS.rateMax}\\b`));
  });
});

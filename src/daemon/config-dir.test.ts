import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigDirError, readConfigDir } from "./config-dir.js";

const root = mkdtempSync(join(tmpdir(), "ingressfw-configdir-test-"));
after(() => rmSync(root, { recursive: true, force: true }));
let serial = 0;
const freshDir = () => {
  const d = join(root, `d${serial++}`);
  mkdirSync(d);
  return d;
};

describe("reading the configuration directory", () => {
  it("reads *.yaml and *.yml in lexical order and skips other names and dotfiles", () => {
    const d = freshDir();
    writeFileSync(join(d, "b.yml"), "b");
    writeFileSync(join(d, "a.yaml"), "a");
    writeFileSync(join(d, "notes.txt"), "n");
    writeFileSync(join(d, ".a.yaml.swp"), "swap");
    writeFileSync(join(d, "a.yaml~"), "backup");
    symlinkSync("nowhere", join(d, ".#a.yaml")); // an emacs lock: a dangling dot-symlink
    mkdirSync(join(d, "sub.yaml"));
    const snap = readConfigDir(d);
    assert.deepEqual(
      snap.sources.map((s) => [s.file, s.text]),
      [
        [join(d, "a.yaml"), "a"],
        [join(d, "b.yml"), "b"],
      ],
    );
  });

  it("hash: equal for equal content, different after an edit or a rename", () => {
    const d = freshDir();
    writeFileSync(join(d, "a.yaml"), "one");
    const first = readConfigDir(d).hash;
    assert.equal(readConfigDir(d).hash, first);
    writeFileSync(join(d, "a.yaml"), "two");
    const second = readConfigDir(d).hash;
    assert.notEqual(second, first);
    renameSync(join(d, "a.yaml"), join(d, "b.yaml"));
    assert.notEqual(readConfigDir(d).hash, second);
  });

  it("follows a ConfigMap volume's ..data symlink and sees the swap", () => {
    const d = freshDir();
    const gen1 = join(d, "..2025_01_01_00_00_00.1");
    const gen2 = join(d, "..2025_01_01_00_00_01.2");
    mkdirSync(gen1);
    mkdirSync(gen2);
    writeFileSync(join(gen1, "rules.yaml"), "old");
    writeFileSync(join(gen2, "rules.yaml"), "new");
    symlinkSync(gen1.slice(d.length + 1), join(d, "..data"));
    symlinkSync("..data/rules.yaml", join(d, "rules.yaml"));
    assert.deepEqual(
      readConfigDir(d).sources.map((s) => s.text),
      ["old"],
    );
    // the kubelet's swap: a new ..data_tmp symlink renamed over ..data
    symlinkSync(gen2.slice(d.length + 1), join(d, "..data_tmp"));
    renameSync(join(d, "..data_tmp"), join(d, "..data"));
    assert.deepEqual(
      readConfigDir(d).sources.map((s) => [s.file, s.text]),
      [[join(d, "rules.yaml"), "new"]],
    );
  });

  it("leaves out a dangling symlink (a file vanishing mid-read)", () => {
    const d = freshDir();
    writeFileSync(join(d, "a.yaml"), "a");
    symlinkSync("gone.yaml", join(d, "b.yaml"));
    assert.deepEqual(
      readConfigDir(d).sources.map((s) => s.text),
      ["a"],
    );
  });

  it("a missing directory is a ConfigDirError", () => {
    assert.throws(() => readConfigDir(join(root, "absent")), ConfigDirError);
  });
});

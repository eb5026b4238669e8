// Refuses a Node older than a pinned tool supports, naming the tool, before a tool fails
// in some obscure way. The Node engine of every package in the lock file is checked; npm's
// own --engine-strict would also reject Debian's npm 9, which every tool here runs with.
"use strict";
const path = require("node:path");
const semver = require(path.join(__dirname, "node_modules", "semver"));
const lock = require(path.join(__dirname, "package-lock.json"));

const refused = Object.entries(lock.packages)
  .filter(([name, pkg]) => name && pkg.engines && typeof pkg.engines.node === "string")
  .filter(([, pkg]) => !semver.satisfies(process.version, pkg.engines.node, { includePrerelease: true }))
  .map(([name, pkg]) => `  ${name.replace(/^.*node_modules\//, "")} needs Node ${pkg.engines.node}`);

if (refused.length) {
  console.error(`Node ${process.version} is too old for the tools in tools/package-lock.json:`);
  console.error(refused.join("\n"));
  process.exit(1);
}

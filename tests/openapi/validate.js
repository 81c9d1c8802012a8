// SPDX-License-Identifier: MIT
//
// validate.js FILE: validate an OpenAPI document with
// @seriousme/openapi-schema-validator (strict: the official 3.1 schema,
// every $ref resolved). Prints "valid openapi 3.1.x" or the errors and
// exits 1.
import { Validator } from "@seriousme/openapi-schema-validator";
import { readFileSync } from "node:fs";

const file = process.argv[2];
const doc = JSON.parse(readFileSync(file, "utf8"));
const validator = new Validator();
const res = await validator.validate(doc);
if (!res.valid) {
  console.error(JSON.stringify(res.errors, null, 2));
  process.exit(1);
}
const resolved = validator.resolveRefs();
if (!resolved || typeof resolved !== "object" || !resolved.paths) {
  console.error("could not resolve $refs");
  process.exit(1);
}
console.log(`valid openapi ${validator.version} (${Object.keys(doc.paths).length} paths)`);

#!/usr/bin/env node
// The `dataset-service` command (package.json "bin"): see src/cli/main.ts.
import "../src/cli/main.ts";

import { runHttpContract } from "./http-contract.ts";
import { BACKENDS } from "./helpers/server.ts";

for (const backend of BACKENDS) runHttpContract(backend);

/** Request validation with the zod schemas of src/schemas.ts; failures are 400s naming the field. */
import type { z } from "zod";
import { badRequest } from "../errors.ts";

export function validate<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? `"${issue.path.join(".")}"` : what;
  const message = issue?.code === "unrecognized_keys" ? `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}` : issue?.message ?? "invalid";
  throw badRequest(`Invalid ${where}: ${message}.`);
}

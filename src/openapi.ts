/** The OpenAPI 3.1 document, generated from the route definitions (src/routes/) and the zod shapes (src/schemas.ts). */
import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import { ERRORS, errorStatuses, RESPONSE_HEADERS, TAGS, type ResponseSpec, type Route } from "./routes/define.ts";
import { ROUTES } from "./routes/index.ts";
import * as S from "./schemas.ts";

const DESCRIPTION = [
  "Upload CSV/TSV, Excel and Parquet files as immutable, numbered versions of datasets; read their schema, statistics, pages of rows and downloads.",
  "",
  "- **Errors** are RFC 9457 problem+json with a machine `code` and a `detail` that says how to fix it.",
  "- **Parameters are strict**: an unknown query parameter or form field is a 400 naming it, with the closest known name (`did you mean \"delimiter\"?`); a single-valued parameter given twice is a 400; an empty value counts as absent.",
  "- **Versions** accept `latest` wherever a number is accepted. Numbered versions carry strong ETags and `Cache-Control: immutable`; `latest` URLs `no-cache`.",
  "- **Cursors** (`next`) carry the whole query and pin the numbered version.",
  "- **Auth**: when the server has API_TOKENS, every /api route needs `Authorization: Bearer <token>`; role `read` may only GET.",
  "",
  "The contract as implemented, with every choice made where it is silent: docs/api.md in the repository.",
].join("\n");

function headerRefs(names: readonly string[] | undefined): ResponseConfig["headers"] {
  if (!names || names.length === 0) return undefined;
  return Object.fromEntries(names.map((n) => [n, { $ref: `#/components/headers/${n}` }]));
}

function response(spec: ResponseSpec): ResponseConfig {
  return {
    description: spec.description,
    ...(spec.content ? { content: Object.fromEntries(Object.entries(spec.content).map(([type, schema]) => [type, { schema }])) } : {}),
    ...(spec.headers?.length ? { headers: headerRefs(spec.headers) } : {}),
  };
}

function problem(status: number): ResponseConfig {
  const e = ERRORS[status];
  if (!e) throw new Error(`No description for error status ${status} (add it to ERRORS in src/routes/define.ts)`);
  return { description: e.description, content: { "application/problem+json": { schema: S.Problem } }, ...(e.headers ? { headers: headerRefs(e.headers) } : {}) };
}

/** The multipart body of an upload route: its text fields plus the required `file` part. */
function multipart(route: Route): z.ZodObject {
  // The file first: Swagger UI lays the form out in this order.
  return z.object({ file: z.string().openapi({ type: "string", format: "binary", description: route.file ?? "The file." }), ...(route.form as z.ZodObject).shape });
}

export function routeConfig(route: Route, bearer: string): RouteConfig {
  const access = route.access ?? "api";
  const request: NonNullable<RouteConfig["request"]> = {};
  if (route.params) request.params = route.params;
  if (route.query && Object.keys(route.query.shape).length > 0) request.query = route.query;
  if (route.headers) request.headers = route.headers;
  if (route.form) request.body = { required: true, content: { "multipart/form-data": { schema: multipart(route) } } };
  if (route.body) request.body = { required: true, content: { "application/json": { schema: route.body } } };
  const responses: RouteConfig["responses"] = {};
  for (const [status, spec] of Object.entries(route.responses)) responses[status] = response(spec);
  for (const status of errorStatuses(route)) responses[String(status)] = problem(status);
  return {
    method: route.method,
    path: route.path,
    operationId: route.operationId,
    tags: [...route.tags],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(Object.keys(request).length > 0 ? { request } : {}),
    responses,
    // Optional bearer auth: required only when the server has API_TOKENS (or METRICS_TOKEN).
    ...(access === "public" ? { security: [] } : { security: [{ [bearer]: [] }, {}] }),
  };
}

export function buildOpenApiDocument(routes: readonly Route[] = ROUTES): Record<string, unknown> {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "Only when the server has API_TOKENS: role `read` may GET, role `write` may do everything. /metrics takes METRICS_TOKEN when that is set.",
  });
  for (const [name, description] of Object.entries(RESPONSE_HEADERS)) {
    registry.registerComponent("headers", name, { description, schema: { type: "string" } });
  }
  for (const route of routes) registry.registerPath(routeConfig(route, bearer.name));
  const doc = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: { title: "Dataset service", version: "1.0.0", description: DESCRIPTION },
    servers: [{ url: "/" }],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
  });
  return doc as unknown as Record<string, unknown>;
}

/** Operations: liveness for load balancers, health for operators, Prometheus metrics, the OpenAPI document. */
import { z } from "zod";
import * as S from "../schemas.ts";
import { defineRoute, json } from "./define.ts";

export const liveness = defineRoute({
  method: "get",
  path: "/healthz",
  operationId: "liveness",
  tags: ["operations"],
  summary: "Liveness: the process can serve",
  description: "No credentials, no rate limit, says nothing about the data: for load balancers and orchestrators.",
  access: "public",
  responses: { 200: json(S.Liveness, "The process can serve.", ["Cache-Control"]) },
  handler: async (_input, { res }) => {
    res.setHeader("Cache-Control", "no-store");
    return { status: "ok" };
  },
});

export const health = defineRoute({
  method: "get",
  path: "/api/health",
  operationId: "getHealth",
  tags: ["operations"],
  summary: "Service health and the figures an operator watches",
  responses: { 200: json(S.Health, "Counts, memory and backend figures.", ["Cache-Control"]) },
  handler: async (_input, { res, deps: { storage } }) => {
    const h = await storage.health();
    res.setHeader("Cache-Control", "no-store");
    return {
      status: "ok",
      backend: storage.name,
      datasets: h.datasets,
      versions: h.versions,
      memory: { rssBytes: process.memoryUsage.rss(), dataBytes: h.dataBytes, budgetBytes: h.budgetBytes },
      ...h.details,
    };
  },
});

export const metrics = defineRoute({
  method: "get",
  path: "/metrics",
  operationId: "getMetrics",
  tags: ["operations"],
  summary: "Prometheus metrics",
  description: "Requests, latencies, uploads, bytes stored, cache hits/misses/evictions. Needs `Authorization: Bearer <METRICS_TOKEN>` when METRICS_TOKEN is set, else any API token when API_TOKENS is set; open otherwise.",
  access: "metrics",
  responses: { 200: { description: "Prometheus text exposition format.", content: { "text/plain": z.string() } } },
  handler: async (_input, { res, deps }) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  },
});

export const openapi = defineRoute({
  method: "get",
  path: "/openapi.json",
  operationId: "getOpenApi",
  tags: ["operations"],
  summary: "This OpenAPI 3.1 document",
  access: "public",
  responses: { 200: json(z.object({ openapi: z.string() }).passthrough(), "OpenAPI 3.1, generated from the route definitions.") },
  handler: async (_input, { deps }) => deps.openapi,
});

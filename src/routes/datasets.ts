/** Datasets: list, read, rename/describe, delete. */
import { z } from "zod";
import { int, text } from "../http/params.ts";
import * as S from "../schemas.ts";
import { summarize } from "../types.ts";
import { defineRoute, json, noContent } from "./define.ts";
import { DatasetPath } from "./fields.ts";

export const listDatasets = defineRoute({
  method: "get",
  path: "/api/datasets",
  operationId: "listDatasets",
  tags: ["datasets"],
  summary: "List datasets, newest first",
  query: z.object({
    offset: int({ min: 0, max: Number.MAX_SAFE_INTEGER, default: 0, description: "Datasets to skip." }),
    limit: int({ min: 1, max: 1000, default: 50, description: "Datasets per page, at most 1,000." }),
    name: text({ description: "Only the dataset with exactly this name, compared ignoring case (the way to find a dataset's id).", maxLength: 1000 }),
  }),
  responses: { 200: json(S.DatasetList, "A page of datasets, newest first (ties by id).") },
  handler: async ({ query: { offset, limit, name } }, { deps: { storage } }) => {
    const { items, total } = await storage.listDatasets({ offset, limit, name });
    return { items, total, offset, limit };
  },
});

export const getDataset = defineRoute({
  method: "get",
  path: "/api/datasets/{datasetId}",
  operationId: "getDataset",
  tags: ["datasets"],
  summary: "A dataset with its versions (without columns)",
  params: DatasetPath,
  responses: { 200: json(S.DatasetDetail, "The dataset and its versions, oldest first.") },
  handler: async ({ params }, { deps: { storage } }) => {
    const dataset = await storage.getDataset(params.datasetId);
    const versions = await storage.listVersions(dataset.id);
    return { ...dataset, versions: versions.map(summarize) };
  },
});

export const updateDataset = defineRoute({
  method: "patch",
  path: "/api/datasets/{datasetId}",
  operationId: "updateDataset",
  tags: ["datasets"],
  summary: "Rename or describe a dataset",
  params: DatasetPath,
  body: S.DatasetPatch,
  responses: { 200: json(S.Dataset, "The dataset as it is now.") },
  errors: [409],
  handler: async ({ params, body }, { deps: { storage } }) => storage.updateDataset(params.datasetId, body),
});

export const deleteDataset = defineRoute({
  method: "delete",
  path: "/api/datasets/{datasetId}",
  operationId: "deleteDataset",
  tags: ["datasets"],
  summary: "Delete a dataset and all its versions",
  params: DatasetPath,
  responses: { 204: noContent("Deleted; its name is free again.") },
  handler: async ({ params }, { res, deps: { storage } }) => {
    await storage.deleteDataset(params.datasetId);
    res.status(204).end();
  },
});

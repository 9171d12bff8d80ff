/**
 * Dataset names are unique ignoring case by Unicode full case folding after NFC (README), not by
 * lower-casing: `straße` and `STRASSE` clash, so do composed and decomposed accents.
 */
import { describe, expect, it } from "vitest";
import { nameKey, RegistryState, type DatasetEntry } from "../src/storage/registry.ts";

const entry = (id: string, name: string): DatasetEntry => ({
  dataset: { id, name, description: "", createdAt: "2026-01-01T00:00:00.000Z", updatedAt: "2026-01-01T00:00:00.000Z" },
  highestIssued: 0,
  versions: new Map(),
});

describe("nameKey: NFC + Unicode full case folding", () => {
  it.each([
    ["straße", "STRASSE"],
    ["Straße", "strasse"],
    ["ẞ", "ss"],
    ["ﬁle", "FILE"],
    ["ΣΊΣΥΦΟΣ", "σίσυφος"],
    ["ὈΔΥΣΣΕΎΣ", "ὀδυσσεύς"],
    ["\u212Aelvin", "kelvin"],
    ["café", "CAFE\u0301"],
    ["Ǆ", "ǆ"],
    ["ŉ", "ʼN"],
  ])("%s ≡ %s", (a, b) => {
    expect(nameKey(a)).toBe(nameKey(b));
  });

  it.each([
    ["ı", "i"],
    ["sales", "sale"],
    ["a b", "ab"],
    ["ä", "a"],
  ])("%s ≢ %s", (a, b) => {
    expect(nameKey(a)).not.toBe(nameKey(b));
  });

  it("the registry refuses a name that folds to a taken one, and finds it by any casing", () => {
    const state = new RegistryState();
    state.add(entry("a", "Straße"));
    expect(() => state.add(entry("b", "STRASSE"))).toThrow(/already exists/);
    expect(state.findIdByName("strasse")).toBe("a");
    expect(state.findIdByName("STRAẞE")).toBe("a");
    expect(state.findIdByName("strase")).toBeUndefined();
  });
});

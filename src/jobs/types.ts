/**
 * The shape of a job kind: a name, typed input and output, and the handler a query worker runs.
 * Inputs and outputs cross a process boundary by structured clone (`serialization: "advanced"`):
 * plain data, typed arrays (row orders), never functions or polars objects.
 */
export interface JobKindDefinition<I, O> {
  readonly kind: string;
  run(input: I): Promise<O>;
}

export function defineJob<I, O>(kind: string, run: (input: I) => Promise<O>): JobKindDefinition<I, O> {
  return { kind, run };
}

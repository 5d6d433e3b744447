// CI's `clients` step: openapi-typescript turns openapi/openapi.json into
// clientline-api.d.ts next to a copy of this file, and `tsc --strict --noEmit` must accept
// both. It is how a TypeScript client would use the generated types; nothing here runs.
import type { components, paths } from "./clientline-api";

type CompanyCreate = components["schemas"]["CompanyCreate"];
type CompanyOut = components["schemas"]["CompanyOut"];
type MoveRequest = components["schemas"]["MoveRequest"];

// The body of POST /v1/companies as the paths table has it: the same schema.
type CreateCompanyBody =
  paths["/v1/companies"]["post"]["requestBody"]["content"]["application/json"];
type CreatedCompany =
  paths["/v1/companies"]["post"]["responses"][201]["content"]["application/json"];

// custom_fields takes keys of the account's own choosing, of any JSON type.
export const body: CreateCompanyBody = {
  name: "Acme Ltd",
  domain: "acme.com",
  industry: "Engineering",
  tags: ["vip"],
  custom_fields: { tier: "gold", score: 3 },
};
export const sameBody: CompanyCreate = body;

export const win: MoveRequest = { outcome: "won", reason: "Signed the framework agreement" };
export const toPhase: MoveRequest = { to_phase_id: 2 };

export function describe(company: CreatedCompany): string {
  const out: CompanyOut = company;
  return `${out.id} ${out.name} (${out.relationship_status}, version ${out.version})`;
}

// The types say no, too: each declaration below must be a compile error (tsc fails when
// the line after an expect-error directive compiles).

// @ts-expect-error `name` is required
export const noName: CompanyCreate = { domain: "acme.com" };

// @ts-expect-error unknown fields are refused (additionalProperties: false)
export const typo: CompanyCreate = { name: "Acme Ltd", nmae: "Acme" };

// @ts-expect-error `tags` is a list of strings
export const badTags: CompanyCreate = { name: "Acme Ltd", tags: "vip" };

import { runCatalogCases } from "./catalog.case.test.ts";
import { MemoryCatalog } from "./catalog-memory.ts";

runCatalogCases({ name: "memory", open: async () => new MemoryCatalog() });

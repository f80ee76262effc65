"""SageMaker API shapes: `api` converts CreateModel / CreateEndpointConfig / CreateEndpoint shapes into
deployments (shared by every reader, the live audit and the guard), `files` reads request JSON files,
`model` reads a model's containers and data sources. May import r1policy's model, errors, findings,
facts and the `sources` modules containerenv, servers and servingprops."""

// Each spec here starts several real msaas processes that run the model, and the pipeline spec restarts the shared
// Redis and RabbitMQ on purpose: side by side on a 2-core machine they starve each other past their deadlines and
// break each other's servers, so they run one after another.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]

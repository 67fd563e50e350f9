import { MemoryBus, MemoryBusNetwork } from '../../services/gateway/src/bus/bus-memory.js';
import { describeBus } from './bus-conformance.js';

describeBus('MemoryBus', async () => {
  const network = new MemoryBusNetwork();
  return { create: () => new MemoryBus(network), dispose: async () => {} };
});

import { afterAll } from 'vitest';
import { removeTempDirs } from './databases.js';

// Every test file leaves /tmp as it found it.
afterAll(removeTempDirs);

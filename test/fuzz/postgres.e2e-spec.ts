import { describeFuzzing } from './fuzz-suite';

describeFuzzing('postgres');

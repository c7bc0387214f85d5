import { describeFuzzing } from './fuzz-suite';

describeFuzzing('embedded');

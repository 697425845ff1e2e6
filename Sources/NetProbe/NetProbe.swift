// NetProbe

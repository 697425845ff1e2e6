print("clumpview")
